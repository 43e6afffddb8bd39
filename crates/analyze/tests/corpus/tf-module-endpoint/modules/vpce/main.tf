variable "vpc_id" {
  type = string
}

variable "service_name" {
  type = string
}

resource "aws_vpc_endpoint" "apigw" {
  vpc_id              = var.vpc_id
  service_name        = var.service_name
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
}
