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
  private_dns_enabled = true
}

resource "aws_route53profiles_profile" "shared" {
  name = "shared-endpoints"
}

resource "aws_route53profiles_association" "spoke" {
  name        = "spoke"
  profile_id  = aws_route53profiles_profile.shared.id
  resource_id = aws_vpc.spoke.id
}

resource "aws_route53profiles_resource_association" "execute_api" {
  name         = "execute-api"
  profile_id   = aws_route53profiles_profile.shared.id
  resource_arn = aws_vpc_endpoint.execute_api.arn
}

resource "aws_apigatewayv2_api" "webhooks" {
  name          = "webhooks"
  protocol_type = "HTTP"
}
