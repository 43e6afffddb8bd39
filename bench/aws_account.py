#!/usr/bin/env python3
"""The account of bench/run's collect/moto case, on a moto server on loopback.

  aws_account.py populate URL ENDPOINTS APIS   build it through the AWS API (boto3)
  aws_account.py collect URL OUT               the peer: the same calls `parallax collect` makes,
                                               one after another through boto3 (what the AWS CLI
                                               v1 is built on), each answer written as a file;
                                               prints the number of calls made

Written for parallax's benchmark; nothing here is taken from elsewhere.
"""
import json
import os
import sys

import boto3


def clients(url):
    kw = dict(endpoint_url=url, region_name="us-east-1",
              aws_access_key_id="testing", aws_secret_access_key="testing")
    return {s: boto3.client(s, **kw) for s in
            ["ec2", "route53", "route53resolver", "apigateway", "apigatewayv2", "sts"]}


def populate(url, endpoints, apis):
    c = clients(url)
    ec2 = c["ec2"]
    # Ten endpoints a VPC (a VPC per ten endpoints), every tenth with private DNS.
    vpcs = []
    for i in range(max(1, endpoints // 10)):
        vpc = ec2.create_vpc(CidrBlock=f"10.{i % 250}.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{i % 250}.1.0/24")["Subnet"]["SubnetId"]
        vpcs.append((vpc, subnet))
    for i in range(endpoints):
        vpc, subnet = vpcs[i % len(vpcs)]
        ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.us-east-1.execute-api",
                                VpcEndpointType="Interface", SubnetIds=[subnet],
                                PrivateDnsEnabled=(i % 10 == 0))
    ag = c["apigateway"]
    for i in range(apis):
        kind = "PRIVATE" if i % 3 == 0 else "REGIONAL"
        ag.create_rest_api(name=f"api-{i}", endpointConfiguration={"types": [kind]})


def collect(url, out):
    c = clients(url)
    os.makedirs(out, exist_ok=True)
    calls = 0

    def save(name, value):
        nonlocal calls
        calls += 1
        with open(os.path.join(out, name), "w") as f:
            json.dump(value, f, default=str, indent=2)

    def pages(client, op, key, **kw):
        """Every page of a listing, joined, as the CLI joins them; counts each page."""
        nonlocal calls
        items = []
        for page in client.get_paginator(op).paginate(**kw):
            calls += 1
            items.extend(page.get(key, []))
        calls -= 1  # save() counts the last one
        return {key: items}

    ec2, r53, rr, ag, ag2 = c["ec2"], c["route53"], c["route53resolver"], c["apigateway"], c["apigatewayv2"]
    c["sts"].get_caller_identity()
    calls += 1
    vpcs = pages(ec2, "describe_vpcs", "Vpcs")
    save("ec2-describe-vpcs.json", vpcs)
    for v in vpcs["Vpcs"]:
        vid = v["VpcId"]
        for attr in ["enableDnsSupport", "enableDnsHostnames"]:
            save(f"ec2-describe-vpc-attribute-{vid}-{attr}.json",
                 ec2.describe_vpc_attribute(VpcId=vid, Attribute=attr))
    save("ec2-describe-subnets.json", pages(ec2, "describe_subnets", "Subnets"))
    eps = pages(ec2, "describe_vpc_endpoints", "VpcEndpoints")
    save("ec2-describe-vpc-endpoints.json", eps)
    enis = [e for ep in eps["VpcEndpoints"] for e in ep.get("NetworkInterfaceIds", [])]
    found = []
    for i in range(0, len(enis), 200):
        found += ec2.describe_network_interfaces(NetworkInterfaceIds=enis[i:i + 200])["NetworkInterfaces"]
        calls += 1
    if enis:
        calls -= 1
        save("ec2-describe-network-interfaces.json", {"NetworkInterfaces": found})
    for v in vpcs["Vpcs"]:
        save(f"route53-list-hosted-zones-by-vpc-{v['VpcId']}.json",
             r53.list_hosted_zones_by_vpc(VPCId=v["VpcId"], VPCRegion="us-east-1"))
    save("route53resolver-list-resolver-endpoints.json", pages(rr, "list_resolver_endpoints", "ResolverEndpoints"))
    save("route53resolver-list-resolver-rules.json", pages(rr, "list_resolver_rules", "ResolverRules"))
    save("route53resolver-list-resolver-rule-associations.json",
         pages(rr, "list_resolver_rule_associations", "ResolverRuleAssociations"))
    apis = pages(ag, "get_rest_apis", "items")
    save("apigateway-get-rest-apis.json", apis)
    for a in apis["items"]:
        save(f"apigateway-get-resources-{a['id']}.json", pages(ag, "get_resources", "items", restApiId=a["id"], embed=["methods"]))
        save(f"apigateway-get-stages-{a['id']}.json", ag.get_stages(restApiId=a["id"]))
    save("apigateway-get-domain-names.json", pages(ag, "get_domain_names", "items"))
    save("apigateway-get-usage-plans.json", pages(ag, "get_usage_plans", "items"))
    save("apigatewayv2-get-apis.json", ag2.get_apis())
    save("apigatewayv2-get-domain-names.json", ag2.get_domain_names())
    print(calls)


if __name__ == "__main__":
    if sys.argv[1] == "populate":
        populate(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "collect":
        collect(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"aws_account.py: unknown mode {sys.argv[1]}")
