//! The SDK's answers written in the AWS CLI's own JSON output shapes, so a snapshot folder is
//! what `aws SERVICE COMMAND --output json` prints (all pages joined) and one reader serves
//! both: EC2, Route 53, Resolver and Profiles in PascalCase, API Gateway's REST API in
//! camelCase with `items`, API Gateway v2 in PascalCase with `Items`.
//!
//! Only what the SDK returned is written (no null members, as the CLI prints). API keys are
//! written by id and name: a key's value is never written, even when the service returns it.

use std::collections::HashMap;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde_json::{Map, Value, json};

/// A JSON object built member by member, leaving out what is absent.
#[derive(Debug, Default)]
pub struct Obj(Map<String, Value>);

impl Obj {
    /// An empty object.
    pub fn new() -> Obj {
        Obj::default()
    }

    /// A string member, when present.
    pub fn s(mut self, key: &str, v: Option<&str>) -> Obj {
        if let Some(v) = v {
            self.0.insert(key.to_owned(), Value::from(v));
        }
        self
    }

    /// A boolean member, when present.
    pub fn b(mut self, key: &str, v: Option<bool>) -> Obj {
        if let Some(v) = v {
            self.0.insert(key.to_owned(), Value::from(v));
        }
        self
    }

    /// A number member, when present.
    pub fn n(mut self, key: &str, v: Option<i64>) -> Obj {
        if let Some(v) = v {
            self.0.insert(key.to_owned(), Value::from(v));
        }
        self
    }

    /// A time, as the CLI prints it (ISO 8601 with the offset written `+00:00`).
    pub fn t(self, key: &str, v: Option<&DateTime>) -> Obj {
        let text =
            v.and_then(|t| t.fmt(Format::DateTime).ok())
                .map(|t| match t.strip_suffix('Z') {
                    Some(head) => format!("{head}+00:00"),
                    None => t,
                });
        self.s(key, text.as_deref())
    }

    /// A list of strings; an empty list is left out.
    pub fn strs(mut self, key: &str, v: &[String]) -> Obj {
        if !v.is_empty() {
            self.0.insert(key.to_owned(), json!(v));
        }
        self
    }

    /// Any value; null is left out.
    pub fn v(mut self, key: &str, v: Value) -> Obj {
        if !v.is_null() {
            self.0.insert(key.to_owned(), v);
        }
        self
    }

    /// A list of objects (always written: an empty list says "none").
    pub fn list(mut self, key: &str, v: Vec<Value>) -> Obj {
        self.0.insert(key.to_owned(), Value::Array(v));
        self
    }

    /// The object.
    pub fn done(self) -> Value {
        Value::Object(self.0)
    }
}

fn map(m: Option<&HashMap<String, String>>) -> Value {
    m.map_or(Value::Null, |m| {
        let sorted: std::collections::BTreeMap<&String, &String> = m.iter().collect();
        json!(sorted)
    })
}

fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> Value {
    if tags.is_empty() {
        return Value::Null;
    }
    Value::Array(
        tags.iter()
            .map(|t| Obj::new().s("Key", t.key()).s("Value", t.value()).done())
            .collect(),
    )
}

/// `aws ec2 describe-vpcs`.
pub fn vpc(v: &aws_sdk_ec2::types::Vpc) -> Value {
    Obj::new()
        .s("OwnerId", v.owner_id())
        .s("InstanceTenancy", v.instance_tenancy().map(|x| x.as_str()))
        .b("IsDefault", v.is_default())
        .v("Tags", ec2_tags(v.tags()))
        .s("VpcId", v.vpc_id())
        .s("State", v.state().map(|x| x.as_str()))
        .s("CidrBlock", v.cidr_block())
        .s("DhcpOptionsId", v.dhcp_options_id())
        .done()
}

/// `aws ec2 describe-subnets`.
pub fn subnet(s: &aws_sdk_ec2::types::Subnet) -> Value {
    Obj::new()
        .s("SubnetId", s.subnet_id())
        .s("SubnetArn", s.subnet_arn())
        .s("VpcId", s.vpc_id())
        .s("CidrBlock", s.cidr_block())
        .s("AvailabilityZone", s.availability_zone())
        .s("AvailabilityZoneId", s.availability_zone_id())
        .s("State", s.state().map(|x| x.as_str()))
        .s("OwnerId", s.owner_id())
        .v("Tags", ec2_tags(s.tags()))
        .done()
}

/// `aws ec2 describe-vpc-endpoints`.
pub fn vpc_endpoint(e: &aws_sdk_ec2::types::VpcEndpoint) -> Value {
    let dns_entries: Vec<Value> = e
        .dns_entries()
        .iter()
        .map(|d| {
            Obj::new()
                .s("DnsName", d.dns_name())
                .s("HostedZoneId", d.hosted_zone_id())
                .done()
        })
        .collect();
    let groups: Vec<Value> = e
        .groups()
        .iter()
        .map(|g| {
            Obj::new()
                .s("GroupId", g.group_id())
                .s("GroupName", g.group_name())
                .done()
        })
        .collect();
    Obj::new()
        .s("VpcEndpointId", e.vpc_endpoint_id())
        .s("VpcEndpointType", e.vpc_endpoint_type().map(|x| x.as_str()))
        .s("VpcId", e.vpc_id())
        .s("ServiceName", e.service_name())
        .s("State", e.state().map(|x| x.as_str()))
        .s("PolicyDocument", e.policy_document())
        .strs("RouteTableIds", e.route_table_ids())
        .strs("SubnetIds", e.subnet_ids())
        .list("Groups", groups)
        .s("IpAddressType", e.ip_address_type().map(|x| x.as_str()))
        .v(
            "DnsOptions",
            e.dns_options().map_or(Value::Null, |o| {
                Obj::new()
                    .s(
                        "DnsRecordIpType",
                        o.dns_record_ip_type().map(|x| x.as_str()),
                    )
                    .b(
                        "PrivateDnsOnlyForInboundResolverEndpoint",
                        o.private_dns_only_for_inbound_resolver_endpoint(),
                    )
                    .done()
            }),
        )
        .b("PrivateDnsEnabled", e.private_dns_enabled())
        .b("RequesterManaged", e.requester_managed())
        .strs("NetworkInterfaceIds", e.network_interface_ids())
        .list("DnsEntries", dns_entries)
        .t("CreationTimestamp", e.creation_timestamp())
        .v("Tags", ec2_tags(e.tags()))
        .s("OwnerId", e.owner_id())
        .done()
}

/// `aws ec2 describe-network-interfaces` (the addresses an interface endpoint answers on).
pub fn network_interface(n: &aws_sdk_ec2::types::NetworkInterface) -> Value {
    let addresses: Vec<Value> = n
        .private_ip_addresses()
        .iter()
        .map(|a| {
            Obj::new()
                .b("Primary", a.primary())
                .s("PrivateIpAddress", a.private_ip_address())
                .s("PrivateDnsName", a.private_dns_name())
                .done()
        })
        .collect();
    Obj::new()
        .s("AvailabilityZone", n.availability_zone())
        .s("Description", n.description())
        .s("InterfaceType", n.interface_type().map(|x| x.as_str()))
        .s("NetworkInterfaceId", n.network_interface_id())
        .s("OwnerId", n.owner_id())
        .s("PrivateIpAddress", n.private_ip_address())
        .list("PrivateIpAddresses", addresses)
        .s("RequesterId", n.requester_id())
        .b("RequesterManaged", n.requester_managed())
        .s("Status", n.status().map(|x| x.as_str()))
        .s("SubnetId", n.subnet_id())
        .s("VpcId", n.vpc_id())
        .done()
}

/// `aws ec2 describe-vpc-attribute --attribute enableDnsSupport|enableDnsHostnames`.
pub fn vpc_attribute(vpc: &str, key: &str, value: Option<bool>) -> Value {
    let mut o = Obj::new().s("VpcId", Some(vpc));
    if let Some(v) = value {
        o = o.v(key, json!({ "Value": v }));
    }
    o.done()
}

/// `aws route53 list-hosted-zones-by-vpc`.
pub fn hosted_zone_summary(z: &aws_sdk_route53::types::HostedZoneSummary) -> Value {
    Obj::new()
        .s("HostedZoneId", Some(z.hosted_zone_id()))
        .s("Name", Some(z.name()))
        .v(
            "Owner",
            z.owner().map_or(Value::Null, |o| {
                Obj::new()
                    .s("OwningAccount", o.owning_account())
                    .s("OwningService", o.owning_service())
                    .done()
            }),
        )
        .done()
}

/// `aws route53 list-resource-record-sets`.
pub fn record_set(r: &aws_sdk_route53::types::ResourceRecordSet) -> Value {
    let values: Vec<Value> = r
        .resource_records()
        .iter()
        .map(|v| json!({ "Value": v.value() }))
        .collect();
    let mut o = Obj::new()
        .s("Name", Some(r.name()))
        .s("Type", Some(r.r#type().as_str()))
        .s("SetIdentifier", r.set_identifier())
        .n("Weight", r.weight())
        .s("Region", r.region().map(|x| x.as_str()))
        .s("Failover", r.failover().map(|x| x.as_str()))
        .b("MultiValueAnswer", r.multi_value_answer())
        .n("TTL", r.ttl())
        .s("HealthCheckId", r.health_check_id());
    if !values.is_empty() {
        o = o.list("ResourceRecords", values);
    }
    if let Some(a) = r.alias_target() {
        o = o.v(
            "AliasTarget",
            json!({
                "HostedZoneId": a.hosted_zone_id(),
                "DNSName": a.dns_name(),
                "EvaluateTargetHealth": a.evaluate_target_health(),
            }),
        );
    }
    o.done()
}

/// `aws route53 get-hosted-zone`.
pub fn get_hosted_zone(
    out: &aws_sdk_route53::operation::get_hosted_zone::GetHostedZoneOutput,
) -> Value {
    let zone = out.hosted_zone().map_or(Value::Null, |z| {
        Obj::new()
            .s("Id", Some(z.id()))
            .s("Name", Some(z.name()))
            .s("CallerReference", Some(z.caller_reference()))
            .v(
                "Config",
                z.config().map_or(Value::Null, |c| {
                    Obj::new()
                        .s("Comment", c.comment())
                        .b("PrivateZone", Some(c.private_zone()))
                        .done()
                }),
            )
            .n("ResourceRecordSetCount", z.resource_record_set_count())
            .done()
    });
    let vpcs: Vec<Value> = out
        .vpcs()
        .iter()
        .map(|v| {
            Obj::new()
                .s("VPCRegion", v.vpc_region().map(|x| x.as_str()))
                .s("VPCId", v.vpc_id())
                .done()
        })
        .collect();
    let mut o = Obj::new().v("HostedZone", zone);
    if !vpcs.is_empty() {
        o = o.list("VPCs", vpcs);
    }
    o.done()
}

/// `aws route53resolver list-resolver-rules`.
pub fn resolver_rule(r: &aws_sdk_route53resolver::types::ResolverRule) -> Value {
    let targets: Vec<Value> = r
        .target_ips()
        .iter()
        .map(|t| {
            Obj::new()
                .s("Ip", t.ip())
                .s("Ipv6", t.ipv6())
                .n("Port", t.port().map(i64::from))
                .s("Protocol", t.protocol().map(|x| x.as_str()))
                .done()
        })
        .collect();
    let mut o = Obj::new()
        .s("Id", r.id())
        .s("CreatorRequestId", r.creator_request_id())
        .s("Arn", r.arn())
        .s("DomainName", r.domain_name())
        .s("Status", r.status().map(|x| x.as_str()))
        .s("StatusMessage", r.status_message())
        .s("RuleType", r.rule_type().map(|x| x.as_str()))
        .s("Name", r.name());
    if !targets.is_empty() {
        o = o.list("TargetIps", targets);
    }
    o.s("ResolverEndpointId", r.resolver_endpoint_id())
        .s("OwnerId", r.owner_id())
        .s("ShareStatus", r.share_status().map(|x| x.as_str()))
        .s("CreationTime", r.creation_time())
        .s("ModificationTime", r.modification_time())
        .done()
}

/// `aws route53resolver list-resolver-rule-associations`.
pub fn resolver_rule_association(
    a: &aws_sdk_route53resolver::types::ResolverRuleAssociation,
) -> Value {
    Obj::new()
        .s("Id", a.id())
        .s("ResolverRuleId", a.resolver_rule_id())
        .s("Name", a.name())
        .s("VPCId", a.vpc_id())
        .s("Status", a.status().map(|x| x.as_str()))
        .s("StatusMessage", a.status_message())
        .done()
}

/// `aws route53resolver list-resolver-endpoints`.
pub fn resolver_endpoint(e: &aws_sdk_route53resolver::types::ResolverEndpoint) -> Value {
    Obj::new()
        .s("Id", e.id())
        .s("Arn", e.arn())
        .s("Name", e.name())
        .strs("SecurityGroupIds", e.security_group_ids())
        .s("Direction", e.direction().map(|x| x.as_str()))
        .n("IpAddressCount", e.ip_address_count().map(i64::from))
        .s("HostVPCId", e.host_vpc_id())
        .s("Status", e.status().map(|x| x.as_str()))
        .s(
            "ResolverEndpointType",
            e.resolver_endpoint_type().map(|x| x.as_str()),
        )
        .done()
}

/// `aws route53profiles list-profiles`.
pub fn profile_summary(p: &aws_sdk_route53profiles::types::ProfileSummary) -> Value {
    Obj::new()
        .s("Id", p.id())
        .s("Arn", p.arn())
        .s("Name", p.name())
        .s("ShareStatus", p.share_status().map(|x| x.as_str()))
        .done()
}

/// `aws route53profiles list-profile-associations`.
pub fn profile_association(a: &aws_sdk_route53profiles::types::ProfileAssociation) -> Value {
    Obj::new()
        .s("Id", a.id())
        .s("Name", a.name())
        .s("OwnerId", a.owner_id())
        .s("ProfileId", a.profile_id())
        .s("ResourceId", a.resource_id())
        .s("Status", a.status().map(|x| x.as_str()))
        .s("StatusMessage", a.status_message())
        .t("CreationTime", a.creation_time())
        .t("ModificationTime", a.modification_time())
        .done()
}

/// `aws route53profiles list-profile-resource-associations`.
pub fn profile_resource_association(
    a: &aws_sdk_route53profiles::types::ProfileResourceAssociation,
) -> Value {
    Obj::new()
        .s("Id", a.id())
        .s("Name", a.name())
        .s("OwnerId", a.owner_id())
        .s("ProfileId", a.profile_id())
        .s("ResourceArn", a.resource_arn())
        .s("ResourceType", a.resource_type())
        .s("ResourceProperties", a.resource_properties())
        .s("Status", a.status().map(|x| x.as_str()))
        .t("CreationTime", a.creation_time())
        .t("ModificationTime", a.modification_time())
        .done()
}

fn endpoint_configuration(c: Option<&aws_sdk_apigateway::types::EndpointConfiguration>) -> Value {
    c.map_or(Value::Null, |c| {
        let types: Vec<String> = c.types().iter().map(|t| t.as_str().to_owned()).collect();
        Obj::new()
            .strs("types", &types)
            .s("ipAddressType", c.ip_address_type().map(|x| x.as_str()))
            .strs("vpcEndpointIds", c.vpc_endpoint_ids())
            .done()
    })
}

/// `aws apigateway get-rest-apis`.
pub fn rest_api(a: &aws_sdk_apigateway::types::RestApi) -> Value {
    Obj::new()
        .s("id", a.id())
        .s("name", a.name())
        .s("description", a.description())
        .t("createdDate", a.created_date())
        .s("version", a.version())
        .s("apiKeySource", a.api_key_source().map(|x| x.as_str()))
        .v(
            "endpointConfiguration",
            endpoint_configuration(a.endpoint_configuration()),
        )
        .s("policy", a.policy())
        .v("tags", map(a.tags()))
        .b(
            "disableExecuteApiEndpoint",
            Some(a.disable_execute_api_endpoint()),
        )
        .s("rootResourceId", a.root_resource_id())
        .done()
}

/// `aws apigateway get-resources --embed methods`.
pub fn resource(r: &aws_sdk_apigateway::types::Resource) -> Value {
    let methods = r.resource_methods().map_or(Value::Null, |m| {
        let sorted: std::collections::BTreeMap<&String, Value> = m
            .iter()
            .map(|(verb, m)| {
                (
                    verb,
                    Obj::new()
                        .s("httpMethod", m.http_method())
                        .s("authorizationType", m.authorization_type())
                        .s("authorizerId", m.authorizer_id())
                        .b("apiKeyRequired", m.api_key_required())
                        .s("operationName", m.operation_name())
                        .strs("authorizationScopes", m.authorization_scopes())
                        .done(),
                )
            })
            .collect();
        json!(sorted)
    });
    Obj::new()
        .s("id", r.id())
        .s("parentId", r.parent_id())
        .s("pathPart", r.path_part())
        .s("path", r.path())
        .v("resourceMethods", methods)
        .done()
}

/// `aws apigateway get-stages` (its list is `item`, as the CLI prints it).
pub fn stage(s: &aws_sdk_apigateway::types::Stage) -> Value {
    Obj::new()
        .s("deploymentId", s.deployment_id())
        .s("clientCertificateId", s.client_certificate_id())
        .s("stageName", s.stage_name())
        .s("description", s.description())
        .b("cacheClusterEnabled", Some(s.cache_cluster_enabled()))
        .v("variables", map(s.variables()))
        .b("tracingEnabled", Some(s.tracing_enabled()))
        .s("webAclArn", s.web_acl_arn())
        .t("createdDate", s.created_date())
        .t("lastUpdatedDate", s.last_updated_date())
        .done()
}

/// `aws apigateway get-domain-names`.
pub fn domain_name(d: &aws_sdk_apigateway::types::DomainName) -> Value {
    Obj::new()
        .s("domainName", d.domain_name())
        .s("domainNameId", d.domain_name_id())
        .s("domainNameArn", d.domain_name_arn())
        .s("certificateArn", d.certificate_arn())
        .s("regionalDomainName", d.regional_domain_name())
        .s("regionalHostedZoneId", d.regional_hosted_zone_id())
        .s("regionalCertificateArn", d.regional_certificate_arn())
        .s("distributionDomainName", d.distribution_domain_name())
        .s("distributionHostedZoneId", d.distribution_hosted_zone_id())
        .v(
            "endpointConfiguration",
            endpoint_configuration(d.endpoint_configuration()),
        )
        .s(
            "domainNameStatus",
            d.domain_name_status().map(|x| x.as_str()),
        )
        .s("securityPolicy", d.security_policy().map(|x| x.as_str()))
        .s(
            "endpointAccessMode",
            d.endpoint_access_mode().map(|x| x.as_str()),
        )
        .v(
            "mutualTlsAuthentication",
            d.mutual_tls_authentication().map_or(Value::Null, |m| {
                Obj::new()
                    .s("truststoreUri", m.truststore_uri())
                    .s("truststoreVersion", m.truststore_version())
                    .strs("truststoreWarnings", m.truststore_warnings())
                    .done()
            }),
        )
        .s("policy", d.policy())
        .s("routingMode", d.routing_mode().map(|x| x.as_str()))
        .done()
}

/// `aws apigateway get-base-path-mappings`.
pub fn base_path_mapping(m: &aws_sdk_apigateway::types::BasePathMapping) -> Value {
    Obj::new()
        .s("basePath", m.base_path())
        .s("restApiId", m.rest_api_id())
        .s("stage", m.stage())
        .done()
}

/// `aws apigateway get-domain-name-access-associations`.
pub fn access_association(a: &aws_sdk_apigateway::types::DomainNameAccessAssociation) -> Value {
    Obj::new()
        .s(
            "domainNameAccessAssociationArn",
            a.domain_name_access_association_arn(),
        )
        .s("domainNameArn", a.domain_name_arn())
        .s(
            "accessAssociationSourceType",
            a.access_association_source_type().map(|x| x.as_str()),
        )
        .s("accessAssociationSource", a.access_association_source())
        .done()
}

/// `aws apigateway get-usage-plans`.
pub fn usage_plan(p: &aws_sdk_apigateway::types::UsagePlan) -> Value {
    let stages: Vec<Value> = p
        .api_stages()
        .iter()
        .map(|s| {
            Obj::new()
                .s("apiId", s.api_id())
                .s("stage", s.stage())
                .done()
        })
        .collect();
    Obj::new()
        .s("id", p.id())
        .s("name", p.name())
        .s("description", p.description())
        .list("apiStages", stages)
        .v(
            "throttle",
            p.throttle().map_or(
                Value::Null,
                |t| json!({ "burstLimit": t.burst_limit(), "rateLimit": t.rate_limit() }),
            ),
        )
        .v(
            "quota",
            p.quota().map_or(Value::Null, |q| {
                Obj::new()
                    .n("limit", Some(i64::from(q.limit())))
                    .n("offset", Some(i64::from(q.offset())))
                    .s("period", q.period().map(|x| x.as_str()))
                    .done()
            }),
        )
        .done()
}

/// `aws apigateway get-usage-plan-keys`, without the keys' values.
pub fn usage_plan_key(k: &aws_sdk_apigateway::types::UsagePlanKey) -> Value {
    Obj::new()
        .s("id", k.id())
        .s("type", k.r#type())
        .s("name", k.name())
        .done()
}

/// `aws apigatewayv2 get-apis`.
pub fn api_v2(a: &aws_sdk_apigatewayv2::types::Api) -> Value {
    Obj::new()
        .s("ApiEndpoint", a.api_endpoint())
        .b("ApiGatewayManaged", a.api_gateway_managed())
        .s("ApiId", a.api_id())
        .t("CreatedDate", a.created_date())
        .s("Description", a.description())
        .b(
            "DisableExecuteApiEndpoint",
            a.disable_execute_api_endpoint(),
        )
        .s("IpAddressType", a.ip_address_type().map(|x| x.as_str()))
        .s("Name", a.name())
        .s("ProtocolType", a.protocol_type().map(|x| x.as_str()))
        .s("RouteSelectionExpression", a.route_selection_expression())
        .v("Tags", map(a.tags()))
        .done()
}

/// `aws apigatewayv2 get-domain-names`.
pub fn domain_name_v2(d: &aws_sdk_apigatewayv2::types::DomainName) -> Value {
    let configs: Vec<Value> = d
        .domain_name_configurations()
        .iter()
        .map(|c| {
            Obj::new()
                .s("ApiGatewayDomainName", c.api_gateway_domain_name())
                .s("CertificateArn", c.certificate_arn())
                .s(
                    "DomainNameStatus",
                    c.domain_name_status().map(|x| x.as_str()),
                )
                .s("EndpointType", c.endpoint_type().map(|x| x.as_str()))
                .s("HostedZoneId", c.hosted_zone_id())
                .s("IpAddressType", c.ip_address_type().map(|x| x.as_str()))
                .s("SecurityPolicy", c.security_policy().map(|x| x.as_str()))
                .done()
        })
        .collect();
    Obj::new()
        .s(
            "ApiMappingSelectionExpression",
            d.api_mapping_selection_expression(),
        )
        .s("DomainName", d.domain_name())
        .s("DomainNameArn", d.domain_name_arn())
        .list("DomainNameConfigurations", configs)
        .v(
            "MutualTlsAuthentication",
            d.mutual_tls_authentication().map_or(Value::Null, |m| {
                Obj::new()
                    .s("TruststoreUri", m.truststore_uri())
                    .s("TruststoreVersion", m.truststore_version())
                    .done()
            }),
        )
        .s("RoutingMode", d.routing_mode().map(|x| x.as_str()))
        .done()
}

/// `aws apigatewayv2 get-api-mappings`.
pub fn api_mapping(m: &aws_sdk_apigatewayv2::types::ApiMapping) -> Value {
    Obj::new()
        .s("ApiId", m.api_id())
        .s("ApiMappingId", m.api_mapping_id())
        .s("ApiMappingKey", m.api_mapping_key())
        .s("Stage", m.stage())
        .done()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_plan_keys_never_carry_a_value() {
        let k = aws_sdk_apigateway::types::UsagePlanKey::builder()
            .id("k1")
            .r#type("API_KEY")
            .name("ci")
            .value("secret-value-0123456789")
            .build();
        let text = usage_plan_key(&k).to_string();
        assert!(!text.contains("secret-value"), "{text}");
        assert_eq!(
            usage_plan_key(&k),
            json!({"id": "k1", "type": "API_KEY", "name": "ci"})
        );
    }

    #[test]
    fn a_vpc_endpoint_in_the_cli_shape() {
        use aws_sdk_ec2::types::{DnsEntry, State, VpcEndpoint, VpcEndpointType};
        let e = VpcEndpoint::builder()
            .vpc_endpoint_id("vpce-0123")
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .vpc_id("vpc-0a1b")
            .service_name("com.amazonaws.us-east-1.execute-api")
            // The wire value, as the EC2 API answers it (the CLI example prints "available";
            // the model's enum spells it "Available"): passed through as answered.
            .state(State::from("available"))
            .private_dns_enabled(true)
            .network_interface_ids("eni-1")
            .dns_entries(
                DnsEntry::builder()
                    .dns_name("vpce-0123-abcd.execute-api.us-east-1.vpce.amazonaws.com")
                    .hosted_zone_id("Z7HUB22UULQXV")
                    .build(),
            )
            .build();
        // Member names and enum values as `aws ec2 describe-vpc-endpoints` prints them
        // (EC2 API Reference, VpcEndpoint).
        assert_eq!(
            vpc_endpoint(&e),
            json!({
                "VpcEndpointId": "vpce-0123",
                "VpcEndpointType": "Interface",
                "VpcId": "vpc-0a1b",
                "ServiceName": "com.amazonaws.us-east-1.execute-api",
                "State": "available",
                "Groups": [],
                "PrivateDnsEnabled": true,
                "NetworkInterfaceIds": ["eni-1"],
                "DnsEntries": [{
                    "DnsName": "vpce-0123-abcd.execute-api.us-east-1.vpce.amazonaws.com",
                    "HostedZoneId": "Z7HUB22UULQXV"
                }]
            })
        );
    }
}
