resource "aws_vpc" "hub" {
  cidr_block           = "10.0.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true
}

resource "aws_vpc" "spoke" {
  cidr_block           = "10.1.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true
}

resource "aws_vpc_endpoint" "execute_api" {
  vpc_id              = aws_vpc.hub.id
  service_name        = "com.amazonaws.us-east-1.execute-api"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = false
}

resource "aws_route53_zone" "execute_api" {
  name = "execute-api.us-east-1.amazonaws.com"
  vpc {
    vpc_id = aws_vpc.hub.id
  }
  lifecycle {
    ignore_changes = [vpc]
  }
}

resource "aws_route53_zone_association" "spoke" {
  zone_id = aws_route53_zone.execute_api.zone_id
  vpc_id  = aws_vpc.spoke.id
}

resource "aws_route53_record" "wildcard" {
  zone_id = aws_route53_zone.execute_api.zone_id
  name    = "*.execute-api.us-east-1.amazonaws.com"
  type    = "A"
  alias {
    name                   = aws_vpc_endpoint.execute_api.dns_entry[0].dns_name
    zone_id                = aws_vpc_endpoint.execute_api.dns_entry[0].hosted_zone_id
    evaluate_target_health = false
  }
}

resource "aws_apigatewayv2_api" "webhooks" {
  name          = "webhooks"
  protocol_type = "HTTP"
}
