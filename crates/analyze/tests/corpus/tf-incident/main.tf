variable "region" {
  type    = string
  default = "us-east-1"
}

resource "aws_vpc" "app" {
  cidr_block           = "10.10.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true
}

resource "aws_vpc_endpoint" "api_endpoint" {
  vpc_id              = aws_vpc.app.id
  service_name        = "com.amazonaws.${var.region}.execute-api"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
}

resource "aws_api_gateway_rest_api" "onprem_proxy" {
  name = "onprem-proxy"
  endpoint_configuration {
    types = ["REGIONAL"]
  }
}
