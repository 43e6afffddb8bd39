variable "vpc_id" { type = string }
variable "services" { type = list(string) }

resource "aws_vpc_endpoint" "this" {
  for_each            = toset(var.services)
  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.eu-central-1.${each.value}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
}

output "endpoints" {
  value = aws_vpc_endpoint.this
}
