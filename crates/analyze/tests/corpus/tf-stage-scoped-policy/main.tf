resource "aws_api_gateway_rest_api" "ledger" {
  name = "ledger"
  endpoint_configuration {
    types = ["REGIONAL"]
  }
}

resource "aws_api_gateway_rest_api_policy" "ledger" {
  rest_api_id = aws_api_gateway_rest_api.ledger.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = "*"
      Action    = "execute-api:Invoke"
      Resource  = "execute-api:/v1/GET/*"
    }]
  })
}

resource "aws_api_gateway_resource" "entries" {
  rest_api_id = aws_api_gateway_rest_api.ledger.id
  parent_id   = aws_api_gateway_rest_api.ledger.root_resource_id
  path_part   = "entries"
}

resource "aws_api_gateway_method" "get_entries" {
  rest_api_id   = aws_api_gateway_rest_api.ledger.id
  resource_id   = aws_api_gateway_resource.entries.id
  http_method   = "GET"
  authorization = "NONE"
}

resource "aws_api_gateway_integration" "get_entries" {
  rest_api_id = aws_api_gateway_rest_api.ledger.id
  resource_id = aws_api_gateway_resource.entries.id
  http_method = aws_api_gateway_method.get_entries.http_method
  type        = "MOCK"
}

resource "aws_api_gateway_deployment" "ledger" {
  rest_api_id = aws_api_gateway_rest_api.ledger.id
  depends_on  = [aws_api_gateway_integration.get_entries, aws_api_gateway_rest_api_policy.ledger]
}

resource "aws_api_gateway_stage" "v1" {
  rest_api_id   = aws_api_gateway_rest_api.ledger.id
  deployment_id = aws_api_gateway_deployment.ledger.id
  stage_name    = "v1"
}
