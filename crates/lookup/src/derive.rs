//! The two LookupEvents fields that are not columns of the record: `Username` and `Resources`.
//!
//! AWS computes them inside CloudTrail and documents only examples, so these are trailscope's
//! rules, written down in `docs/lookup-events.md`:
//! - `Username`: `root` for the root user, the session name for an assumed role (the last part
//!   of `arn:aws:sts::…:assumed-role/ROLE/SESSION`), the federated user's name, otherwise
//!   `userIdentity.userName`.
//! - `Resources`: the record's own `resources[]` (`type`, ARN), then, for events that change
//!   something (not `readOnly`), the identifiers found in `requestParameters` and
//!   `responseElements` under the keys that name a resource of the event's service (`cluster`
//!   for ECS, `instanceId` for EC2, `roleName` for IAM, …). AWS does the same: its answers in
//!   `tests/fixtures/plaso` list the instance of `TerminateInstances` but none for
//!   `DescribeInstances`, and the tests compare with them.
//!
//! `Username` is a DataFusion expression (`crate::query::username`), so a filter on it reads
//! three small columns; the resources are this module's Rust function, called on the page's
//! rows and, through a UDF, on the rows that a cheap text search could not rule out.

use serde_json::Value as Json;

/// One entry of an event's `Resources`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub resource_type: String,
    pub name: String,
}

/// Keys in request parameters and response elements that name a resource, per event source.
/// Key matches are exact and found at any depth (`instancesSet.items[].instanceId`); a list of
/// strings under a key yields one resource per item.
const RULES: &[(&str, &[(&str, &str)])] = &[
    (
        "ecs.amazonaws.com",
        &[
            ("cluster", "AWS::ECS::Cluster"),
            ("clusterArn", "AWS::ECS::Cluster"),
            ("clusterName", "AWS::ECS::Cluster"),
            ("clusters", "AWS::ECS::Cluster"),
            ("service", "AWS::ECS::Service"),
            ("serviceName", "AWS::ECS::Service"),
            ("serviceArn", "AWS::ECS::Service"),
            ("services", "AWS::ECS::Service"),
            ("taskDefinition", "AWS::ECS::TaskDefinition"),
            ("taskDefinitionArn", "AWS::ECS::TaskDefinition"),
            ("family", "AWS::ECS::TaskDefinition"),
            ("task", "AWS::ECS::Task"),
            ("taskArn", "AWS::ECS::Task"),
            ("tasks", "AWS::ECS::Task"),
            ("containerInstance", "AWS::ECS::ContainerInstance"),
            ("containerInstanceArn", "AWS::ECS::ContainerInstance"),
            ("containerInstances", "AWS::ECS::ContainerInstance"),
        ],
    ),
    (
        "ec2.amazonaws.com",
        &[
            ("instanceId", "AWS::EC2::Instance"),
            ("groupId", "AWS::EC2::SecurityGroup"),
            ("groupName", "AWS::EC2::SecurityGroup"),
            ("vpcId", "AWS::EC2::VPC"),
            ("subnetId", "AWS::EC2::Subnet"),
            ("volumeId", "AWS::EC2::Volume"),
            ("snapshotId", "AWS::EC2::Snapshot"),
            ("imageId", "AWS::EC2::Ami"),
            ("keyName", "AWS::EC2::KeyPair"),
            ("networkAclId", "AWS::EC2::NetworkAcl"),
            ("routeTableId", "AWS::EC2::RouteTable"),
            ("internetGatewayId", "AWS::EC2::InternetGateway"),
            ("natGatewayId", "AWS::EC2::NatGateway"),
            ("networkInterfaceId", "AWS::EC2::NetworkInterface"),
            ("allocationId", "AWS::EC2::EIP"),
            ("launchTemplateId", "AWS::EC2::LaunchTemplate"),
            ("vpcPeeringConnectionId", "AWS::EC2::VPCPeeringConnection"),
            ("customerGatewayId", "AWS::EC2::CustomerGateway"),
            ("vpnGatewayId", "AWS::EC2::VPNGateway"),
            ("dhcpOptionsId", "AWS::EC2::DHCPOptions"),
        ],
    ),
    (
        "iam.amazonaws.com",
        &[
            ("userName", "AWS::IAM::User"),
            ("roleName", "AWS::IAM::Role"),
            ("groupName", "AWS::IAM::Group"),
            ("policyArn", "AWS::IAM::Policy"),
            ("instanceProfileName", "AWS::IAM::InstanceProfile"),
            ("accessKeyId", "AWS::IAM::AccessKey"),
            ("sAMLProviderArn", "AWS::IAM::SAMLProvider"),
            ("openIDConnectProviderArn", "AWS::IAM::OIDCProvider"),
        ],
    ),
    (
        "sts.amazonaws.com",
        &[
            ("roleArn", "AWS::IAM::Role"),
            ("roleSessionName", "AWS::STS::AssumedRole"),
            ("accessKeyId", "AWS::IAM::AccessKey"),
        ],
    ),
    (
        "s3.amazonaws.com",
        &[("bucketName", "AWS::S3::Bucket"), ("key", "AWS::S3::Object")],
    ),
    (
        "elasticloadbalancing.amazonaws.com",
        &[
            ("loadBalancerName", "AWS::ElasticLoadBalancing::LoadBalancer"),
            ("loadBalancerArn", "AWS::ElasticLoadBalancingV2::LoadBalancer"),
            ("loadBalancerArns", "AWS::ElasticLoadBalancingV2::LoadBalancer"),
            ("targetGroupArn", "AWS::ElasticLoadBalancingV2::TargetGroup"),
            ("targetGroupArns", "AWS::ElasticLoadBalancingV2::TargetGroup"),
            ("listenerArn", "AWS::ElasticLoadBalancingV2::Listener"),
        ],
    ),
    (
        "autoscaling.amazonaws.com",
        &[
            ("autoScalingGroupName", "AWS::AutoScaling::AutoScalingGroup"),
            ("autoScalingGroupNames", "AWS::AutoScaling::AutoScalingGroup"),
            ("launchConfigurationName", "AWS::AutoScaling::LaunchConfiguration"),
            ("policyName", "AWS::AutoScaling::ScalingPolicy"),
        ],
    ),
    (
        "cloudtrail.amazonaws.com",
        &[
            ("name", "AWS::CloudTrail::Trail"),
            ("trailName", "AWS::CloudTrail::Trail"),
            ("trailNameList", "AWS::CloudTrail::Trail"),
        ],
    ),
    ("lambda.amazonaws.com", &[("functionName", "AWS::Lambda::Function")]),
    ("kms.amazonaws.com", &[("keyId", "AWS::KMS::Key")]),
    ("logs.amazonaws.com", &[("logGroupName", "AWS::Logs::LogGroup")]),
    ("ecr.amazonaws.com", &[("repositoryName", "AWS::ECR::Repository")]),
    (
        "rds.amazonaws.com",
        &[
            ("dBInstanceIdentifier", "AWS::RDS::DBInstance"),
            ("dBClusterIdentifier", "AWS::RDS::DBCluster"),
        ],
    ),
    (
        "cloudformation.amazonaws.com",
        &[("stackName", "AWS::CloudFormation::Stack")],
    ),
    (
        "secretsmanager.amazonaws.com",
        &[("secretId", "AWS::SecretsManager::Secret")],
    ),
    ("sns.amazonaws.com", &[("topicArn", "AWS::SNS::Topic")]),
    ("sqs.amazonaws.com", &[("queueUrl", "AWS::SQS::Queue")]),
    ("dynamodb.amazonaws.com", &[("tableName", "AWS::DynamoDB::Table")]),
];

/// Bounds on the work one event can cause (deeply nested or huge parameters).
const MAX_DEPTH: usize = 32;
const MAX_RESOURCES: usize = 100;

fn rules_for(event_source: &str) -> &'static [(&'static str, &'static str)] {
    RULES
        .iter()
        .find(|(source, _)| *source == event_source)
        .map(|(_, rules)| *rules)
        .unwrap_or(&[])
}

/// Event sources whose events can name a resource of `resource_type` in their parameters.
pub fn sources_of_type(resource_type: &str) -> Vec<&'static str> {
    RULES
        .iter()
        .filter(|(_, rules)| rules.iter().any(|(_, t)| *t == resource_type))
        .map(|(source, _)| *source)
        .collect()
}

/// The inputs of one event's resources, as stored.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResourceInputs<'a> {
    pub event_source: Option<&'a str>,
    /// `readOnly` as stored (`"true"` for reads).
    pub read_only: Option<&'a str>,
    pub request_parameters: Option<&'a str>,
    pub response_elements: Option<&'a str>,
    /// `resources[]` of the record, as (ARN, type) pairs.
    pub listed: &'a [(Option<&'a str>, Option<&'a str>)],
}

/// The `Resources` of one event, without duplicates, in the order they were found.
pub fn resources(inputs: &ResourceInputs<'_>) -> Vec<Resource> {
    let mut out: Vec<Resource> = Vec::new();
    let mut push = |resource_type: &str, name: &str| {
        if out.len() < MAX_RESOURCES
            && !name.is_empty()
            && !out.iter().any(|r| r.resource_type == resource_type && r.name == name)
        {
            out.push(Resource {
                resource_type: resource_type.to_string(),
                name: name.to_string(),
            });
        }
    };
    for (arn, ty) in inputs.listed {
        if let Some(arn) = arn {
            push(ty.unwrap_or_default(), arn);
        }
    }
    let rules = match inputs.read_only {
        Some("true") => &[],
        _ => inputs.event_source.map(rules_for).unwrap_or(&[]),
    };
    if !rules.is_empty() {
        for text in [inputs.request_parameters, inputs.response_elements]
            .into_iter()
            .flatten()
        {
            // Text that is not JSON names no resources (the record's columns were parsed at
            // ingest, so this only happens with hand-made tables).
            if let Ok(value) = serde_json::from_str::<Json>(text) {
                walk(&value, rules, 0, &mut push);
            }
        }
    }
    out
}

fn walk(value: &Json, rules: &[(&str, &str)], depth: usize, push: &mut impl FnMut(&str, &str)) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Json::Object(map) => {
            for (key, v) in map {
                if let Some((_, ty)) = rules.iter().find(|(k, _)| k == key) {
                    match v {
                        Json::String(s) => push(ty, s),
                        Json::Array(items) => {
                            for item in items {
                                if let Json::String(s) = item {
                                    push(ty, s);
                                }
                            }
                        }
                        _ => {}
                    }
                }
                walk(v, rules, depth + 1, push);
            }
        }
        Json::Array(items) => {
            for item in items {
                walk(item, rules, depth + 1, push);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types_and_names(r: Vec<Resource>) -> Vec<(String, String)> {
        r.into_iter().map(|r| (r.resource_type, r.name)).collect()
    }

    #[test]
    fn ecs_parameters_name_clusters_services_and_task_definitions() {
        let inputs = ResourceInputs {
            event_source: Some("ecs.amazonaws.com"),
            read_only: Some("false"),
            request_parameters: Some(
                r#"{"cluster":"prod","services":["web","api"],"taskDefinition":"web:42","count":1,"overrides":{"containerOverrides":[{"name":"web"}]}}"#,
            ),
            response_elements: Some(r#"{"service":{"serviceArn":"arn:aws:ecs:us-east-1:1:service/prod/web"}}"#),
            listed: &[],
        };
        assert_eq!(
            types_and_names(resources(&inputs)),
            vec![
                ("AWS::ECS::Cluster".into(), "prod".into()),
                ("AWS::ECS::Service".into(), "web".into()),
                ("AWS::ECS::Service".into(), "api".into()),
                ("AWS::ECS::TaskDefinition".into(), "web:42".into()),
                (
                    "AWS::ECS::Service".into(),
                    "arn:aws:ecs:us-east-1:1:service/prod/web".into()
                ),
            ]
        );
    }

    #[test]
    fn nested_ec2_items_and_listed_resources_come_once() {
        let listed = [
            (Some("arn:aws:iam::1:role/r"), Some("AWS::IAM::Role")),
            (Some("arn:aws:iam::1:role/r"), Some("AWS::IAM::Role")),
        ];
        let inputs = ResourceInputs {
            event_source: Some("ec2.amazonaws.com"),
            read_only: None,
            request_parameters: Some(
                r#"{"instancesSet":{"items":[{"instanceId":"i-1"},{"instanceId":"i-2"},{"instanceId":"i-1"}]}}"#,
            ),
            response_elements: None,
            listed: &listed,
        };
        assert_eq!(
            types_and_names(resources(&inputs)),
            vec![
                ("AWS::IAM::Role".into(), "arn:aws:iam::1:role/r".into()),
                ("AWS::EC2::Instance".into(), "i-1".into()),
                ("AWS::EC2::Instance".into(), "i-2".into()),
            ]
        );
    }

    #[test]
    fn reads_name_only_their_listed_resources() {
        let listed = [(Some("arn:aws:s3:::b"), Some("AWS::S3::Bucket"))];
        let inputs = ResourceInputs {
            event_source: Some("ec2.amazonaws.com"),
            read_only: Some("true"),
            request_parameters: Some(r#"{"instancesSet":{"items":[{"instanceId":"i-1"}]}}"#),
            response_elements: None,
            listed: &listed,
        };
        assert_eq!(
            types_and_names(resources(&inputs)),
            vec![("AWS::S3::Bucket".into(), "arn:aws:s3:::b".into())]
        );
    }

    #[test]
    fn keys_of_other_services_and_bad_json_name_nothing() {
        let inputs = ResourceInputs {
            event_source: Some("signin.amazonaws.com"),
            request_parameters: Some(r#"{"cluster":"prod"}"#),
            ..Default::default()
        };
        assert!(resources(&inputs).is_empty());
        let inputs = ResourceInputs {
            event_source: Some("ecs.amazonaws.com"),
            request_parameters: Some("{not json"),
            ..Default::default()
        };
        assert!(resources(&inputs).is_empty());
    }

    #[test]
    fn types_map_back_to_their_sources() {
        assert_eq!(sources_of_type("AWS::ECS::Cluster"), vec!["ecs.amazonaws.com"]);
        assert_eq!(
            sources_of_type("AWS::IAM::Role"),
            vec!["iam.amazonaws.com", "sts.amazonaws.com"]
        );
        assert!(sources_of_type("AWS::Nope::Thing").is_empty());
    }
}
