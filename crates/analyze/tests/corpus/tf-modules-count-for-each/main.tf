# A hub VPC holds the execute-api endpoint (made by for_each in a module) and shares its private
# DNS with a spoke through a Route 53 Profile; the private API comes from a module called with
# count, its policy from a data source inside that module.
module "hub" {
  source = "./modules/network"
  count  = 1
  name   = "hub"
  cidr   = "10.0.0.0/16"
}

module "spoke" {
  source = "./modules/network"
  name   = "spoke"
  cidr   = "10.1.0.0/16"
}

module "endpoints" {
  source   = "./modules/endpoints"
  vpc_id   = module.hub[0].vpc_id
  services = ["execute-api"]
}

module "api" {
  source  = "./modules/private-api"
  count   = 1
  name    = "orders"
  vpce_id = module.endpoints.endpoints["execute-api"].id
}

resource "aws_api_gateway_rest_api" "partner" {
  name = "partner"
  endpoint_configuration {
    types = ["REGIONAL"]
  }
}

resource "aws_route53profiles_profile" "shared" {
  name = "shared-endpoints"
}

resource "aws_route53profiles_resource_association" "execute_api" {
  name         = "execute-api"
  profile_id   = aws_route53profiles_profile.shared.id
  resource_arn = module.endpoints.endpoints["execute-api"].arn
}

resource "aws_route53profiles_association" "spoke" {
  name        = "spoke"
  profile_id  = aws_route53profiles_profile.shared.id
  resource_id = module.spoke.vpc_id
}
