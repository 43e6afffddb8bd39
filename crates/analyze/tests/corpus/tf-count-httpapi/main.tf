variable "api_gateway_vpc_endpoint_deployment" {
  type    = bool
  default = true
}

resource "aws_vpc" "this" {
  cidr_block           = "10.2.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true
}

resource "aws_vpc_endpoint" "private_api_gateway" {
  count = var.api_gateway_vpc_endpoint_deployment ? 1 : 0

  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.ap-southeast-2.execute-api"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
}

resource "aws_apigatewayv2_api" "webhooks" {
  name          = "webhooks"
  protocol_type = "HTTP"
}
