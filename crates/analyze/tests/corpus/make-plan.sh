#!/bin/sh
# Makes DIR/plan.json from the .tf files in DIR with the real terraform, the AWS provider from
# the local mirror (terraformrc) and fake credentials: the provider validates nothing against AWS
# (skip_* settings in each provider.tf), so no account is reached. Usage: make-plan.sh DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$1"
export TF_CLI_CONFIG_FILE="$here/terraformrc"
export AWS_ACCESS_KEY_ID=AKIAEXAMPLEEXAMPLE00 AWS_SECRET_ACCESS_KEY=example
export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
terraform init -input=false -no-color >/dev/null
terraform plan -input=false -no-color -refresh=false -out plan.bin >/dev/null
terraform show -json plan.bin > plan.json
rm -rf .terraform .terraform.lock.hcl plan.bin
