resource "aws_vpc" "consumer" {
  cidr_block           = "10.3.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true
}

resource "aws_subnet" "a" {
  vpc_id     = aws_vpc.consumer.id
  cidr_block = "10.3.1.0/24"
}

resource "aws_lb" "provider" {
  name               = "provider-nlb"
  load_balancer_type = "network"
  internal           = true
  subnets            = [aws_subnet.a.id]
}

resource "aws_vpc_endpoint_service" "provider" {
  acceptance_required        = false
  network_load_balancer_arns = [aws_lb.provider.arn]
}

resource "aws_vpc_endpoint" "consumer" {
  vpc_id              = aws_vpc.consumer.id
  service_name        = aws_vpc_endpoint_service.provider.service_name
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
}
