variable "name" { type = string }
variable "vpce_id" { type = string }

data "aws_iam_policy_document" "invoke" {
  statement {
    effect    = "Allow"
    actions   = ["execute-api:Invoke"]
    resources = ["execute-api:/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceVpce"
      values   = [var.vpce_id]
    }
  }
}

resource "aws_api_gateway_rest_api" "this" {
  name   = var.name
  policy = data.aws_iam_policy_document.invoke.json
  endpoint_configuration {
    types            = ["PRIVATE"]
    vpc_endpoint_ids = [var.vpce_id]
  }
}
