//! Who calls what in the generated estate.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde_json::{Value, json};

pub const ACCOUNTS: &[&str] = &["111122223333", "444455556666"];
pub const REGIONS: &[&str] = &["us-east-1", "eu-central-1"];
const CLUSTERS: &[&str] = &["prod", "staging", "batch"];
const SERVICES: &[&str] = &["web", "api", "worker", "payments", "search"];

/// Where an actor's calls come from: an AWS service principal, or /24 blocks (`a.b.c`) of real
/// public address space. Some blocks overlap MaxMind's test databases (81.2.69, 89.160.20,
/// 175.16.199, 202.196.224, 67.43.156, 216.160.83) so test runs get locations too.
#[derive(Debug, Clone)]
pub enum Ips {
    Service(&'static str),
    Blocks(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    IamUser,
    Role(&'static str),
    Service,
    Root,
}

#[derive(Debug, Clone)]
pub struct Actor {
    pub name: &'static str,
    pub kind: ActorKind,
    pub ips: Ips,
    pub user_agent: &'static str,
}

fn id_suffix(name: &str, len: usize) -> String {
    // Stable per actor (FNV-1a), so the same user keeps the same principal id in every dataset.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    (0..len)
        .map(|i| char::from(alphabet[((h >> ((i * 5) % 60)) & 31) as usize]))
        .collect()
}

impl Actor {
    pub fn identity(&self, account: &str, rng: &mut impl Rng, t: DateTime<Utc>) -> Value {
        let created = (t - Duration::minutes(rng.random_range(1..600)))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        match self.kind {
            ActorKind::IamUser => json!({
                "type": "IAMUser",
                "principalId": format!("AIDA{}", id_suffix(self.name, 17)),
                "arn": format!("arn:aws:iam::{account}:user/{}", self.name),
                "accountId": account,
                "accessKeyId": format!("AKIA{}", id_suffix(&format!("{}key", self.name), 16)),
                "userName": self.name,
            }),
            ActorKind::Role(session) => json!({
                "type": "AssumedRole",
                "principalId": format!("AROA{}:{session}", id_suffix(self.name, 17)),
                "arn": format!("arn:aws:sts::{account}:assumed-role/{}/{session}", self.name),
                "accountId": account,
                "accessKeyId": format!("ASIA{}", id_suffix(&format!("{}{}", self.name, rng.random_range(0..50)), 16)),
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": format!("AROA{}", id_suffix(self.name, 17)),
                        "arn": format!("arn:aws:iam::{account}:role/{}", self.name),
                        "accountId": account,
                        "userName": self.name,
                    },
                    "webIdFederationData": {},
                    "attributes": {"creationDate": created, "mfaAuthenticated": "false"},
                },
            }),
            ActorKind::Service => json!({"type": "AWSService", "invokedBy": self.name}),
            ActorKind::Root => json!({
                "type": "Root",
                "principalId": account,
                "arn": format!("arn:aws:iam::{account}:root"),
                "accountId": account,
                "accessKeyId": "",
            }),
        }
    }
}

pub fn actors() -> Vec<Actor> {
    use ActorKind::*;
    let a = |name, kind, ips, user_agent| Actor {
        name,
        kind,
        ips,
        user_agent,
    };
    vec![
        a(
            "ecsInstanceRole",
            Role("i-0a1b2c3d4e5f60718"),
            Ips::Blocks(&["3.120.44", "54.221.8", "18.197.30"]),
            "amazon-ecs-agent/1.86.3 (+https://github.com/aws/amazon-ecs-agent)",
        ),
        a(
            "ecs.amazonaws.com",
            Service,
            Ips::Service("ecs.amazonaws.com"),
            "ecs.amazonaws.com",
        ),
        a(
            "autoscaling.amazonaws.com",
            Service,
            Ips::Service("autoscaling.amazonaws.com"),
            "autoscaling.amazonaws.com",
        ),
        a(
            "ecs-tasks.amazonaws.com",
            Service,
            Ips::Service("ecs-tasks.amazonaws.com"),
            "ecs-tasks.amazonaws.com",
        ),
        a(
            "alice",
            IamUser,
            Ips::Blocks(&["73.162.34", "216.160.83", "98.207.61"]),
            "aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0 exe/x86_64 prompt/off command/ecs.describe-services",
        ),
        a(
            "bob",
            IamUser,
            Ips::Blocks(&["81.2.69", "86.128.44"]),
            "console.amazonaws.com",
        ),
        a(
            "carol",
            IamUser,
            Ips::Blocks(&["91.64.120", "79.200.14"]),
            "aws-cli/2.13.2 Python/3.11.4 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off",
        ),
        a(
            "dave",
            IamUser,
            Ips::Blocks(&["89.160.20", "49.36.128"]),
            "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.12.2",
        ),
        a(
            "ci-deployer",
            Role("github-actions-1234567890"),
            Ips::Blocks(&["20.42.65", "52.23.170"]),
            "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0",
        ),
        a(
            "deploy-bot",
            IamUser,
            Ips::Blocks(&["52.23.170", "3.208.12"]),
            "aws-cli/2.15.30 Python/3.11.8 Linux/5.10.213-201.855.amzn2.x86_64 exe/x86_64.amzn.2 prompt/off command/ecs.update-service",
        ),
        // The suspicious ones: only scenarios use them.
        a(
            "intruder",
            IamUser,
            Ips::Blocks(&["185.220.101", "175.16.199"]),
            "python-requests/2.31.0",
        ),
        a(
            "mallory",
            IamUser,
            Ips::Blocks(&["95.165.28"]),
            "aws-cli/1.18.69 Python/2.7.18 Linux/4.19.0 botocore/1.16.19",
        ),
        a(
            "root",
            Root,
            Ips::Blocks(&["202.196.224", "180.190.10"]),
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        ),
        a(
            "sprayer",
            IamUser,
            Ips::Blocks(&["67.43.156", "45.155.205"]),
            "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
        ),
    ]
}

/// One API call's contents.
#[derive(Debug, Clone)]
pub struct Call {
    pub source: &'static str,
    pub name: &'static str,
    pub read_only: bool,
    pub request: Value,
    pub response: Value,
    pub error: Option<(&'static str, String)>,
    pub error_message_only: Option<&'static str>,
    pub additional: Option<Value>,
    pub resources: Vec<Value>,
}

/// A task id, stable for (cluster, slot, generation), as 32 hex digits.
fn task_id(cluster: &str, slot: u32, generation: u32) -> String {
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in format!("{cluster}/{slot}/{generation}").bytes() {
        h = (h ^ u128::from(b)).wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013B);
    }
    format!("{h:032x}")
}

fn call(source: &'static str, name: &'static str, read_only: bool, request: Value) -> Call {
    Call {
        source,
        name,
        read_only,
        request,
        response: Value::Null,
        error: None,
        error_message_only: None,
        additional: None,
        resources: Vec::new(),
    }
}

fn idx(actors: &[Actor], name: &str) -> usize {
    actors.iter().position(|a| a.name == name).unwrap_or(0)
}

fn pick<'a>(rng: &mut impl Rng, items: &'a [&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// A routine call: which actor makes it and what it is. `roll` in [0, 1) picks the category.
pub fn routine_call(rng: &mut impl Rng, actors: &[Actor], roll: f64) -> (usize, Call) {
    let cluster = pick(rng, CLUSTERS);
    let service = pick(rng, SERVICES);
    let revision = rng.random_range(1..60);
    // A running estate has a bounded set of tasks: calls refer to one of a few dozen per hour.
    let task = task_id(cluster, rng.random_range(0..40), rng.random_range(0..3));
    let engineer = pick(rng, &["alice", "bob", "carol", "dave"]);
    let (who, mut c) = if roll < 0.30 {
        // The ECS agent on container instances.
        let c = match rng.random_range(0..4) {
            0 => call(
                "ecs.amazonaws.com",
                "DiscoverPollEndpoint",
                true,
                json!({"containerInstance": format!("arn:aws:ecs:us-east-1:111122223333:container-instance/{cluster}/{task}"), "cluster": cluster}),
            ),
            1 => call(
                "ecs.amazonaws.com",
                "SubmitContainerStateChange",
                false,
                json!({"cluster": cluster, "task": task, "containerName": service, "status": "RUNNING"}),
            ),
            2 => call(
                "ecs.amazonaws.com",
                "SubmitTaskStateChange",
                false,
                json!({"cluster": cluster, "task": task, "status": pick(rng, &["RUNNING", "STOPPED"])}),
            ),
            _ => call(
                "ecr.amazonaws.com",
                "GetAuthorizationToken",
                true,
                json!({"registryIds": ["111122223333"]}),
            ),
        };
        ("ecsInstanceRole", c)
    } else if roll < 0.48 {
        let c = match rng.random_range(0..9) {
            0 => call("ecs.amazonaws.com", "ListClusters", true, json!({})),
            1 => call(
                "ecs.amazonaws.com",
                "DescribeClusters",
                true,
                json!({"clusters": [cluster], "include": ["STATISTICS"]}),
            ),
            2 | 3 => call(
                "ecs.amazonaws.com",
                "DescribeServices",
                true,
                json!({"cluster": cluster, "services": [service]}),
            ),
            4 => call(
                "ecs.amazonaws.com",
                "ListTasks",
                true,
                json!({"cluster": cluster, "serviceName": service, "desiredStatus": "RUNNING"}),
            ),
            5 => call(
                "ecs.amazonaws.com",
                "DescribeTasks",
                true,
                json!({"cluster": cluster, "tasks": [task]}),
            ),
            6 => {
                let mut c = call(
                    "ecs.amazonaws.com",
                    "RunTask",
                    false,
                    json!({"cluster": cluster, "taskDefinition": format!("{service}-migrate:{revision}"), "count": 1, "launchType": "FARGATE"}),
                );
                c.response = json!({"tasks": [{"taskArn": format!("arn:aws:ecs:us-east-1:111122223333:task/{cluster}/{task}"), "lastStatus": "PROVISIONING"}], "failures": []});
                c
            }
            7 => call(
                "ecs.amazonaws.com",
                "StopTask",
                false,
                json!({"cluster": cluster, "task": task, "reason": "stopped by operator"}),
            ),
            _ => call(
                "ecs.amazonaws.com",
                "UpdateService",
                false,
                json!({"cluster": cluster, "service": service, "desiredCount": rng.random_range(1..12)}),
            ),
        };
        (engineer, c)
    } else if roll < 0.60 {
        let who = if rng.random_bool(0.6) {
            "ci-deployer"
        } else {
            "deploy-bot"
        };
        let c = match rng.random_range(0..5) {
            0 => call(
                "ecs.amazonaws.com",
                "RegisterTaskDefinition",
                false,
                json!({"family": service, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "512", "memory": "1024", "containerDefinitions": [{"name": service, "image": format!("111122223333.dkr.ecr.us-east-1.amazonaws.com/{service}:{revision}"), "essential": true}]}),
            ),
            1 => call(
                "ecs.amazonaws.com",
                "UpdateService",
                false,
                json!({"cluster": cluster, "service": service, "taskDefinition": format!("{service}:{revision}"), "forceNewDeployment": false}),
            ),
            2 => call(
                "ecs.amazonaws.com",
                "DescribeTaskDefinition",
                true,
                json!({"taskDefinition": format!("{service}:{revision}")}),
            ),
            3 => call(
                "ecr.amazonaws.com",
                "BatchGetImage",
                true,
                json!({"repositoryName": service, "imageIds": [{"imageTag": revision.to_string()}]}),
            ),
            _ => call(
                "ecs.amazonaws.com",
                "DescribeServices",
                true,
                json!({"cluster": cluster, "services": [service]}),
            ),
        };
        (who, c)
    } else if roll < 0.72 {
        match rng.random_range(0..5) {
            0 => {
                let mut c = call(
                    "ec2.amazonaws.com",
                    "RunInstances",
                    false,
                    json!({"instancesSet": {"items": [{"imageId": "ami-0c55b159cbfafe1f0", "minCount": 1, "maxCount": 1}]}, "instanceType": "m6i.large"}),
                );
                c.resources = vec![
                    json!({"ARN": "arn:aws:ec2:us-east-1:111122223333:instance/i-0d9f8e7c6b5a49382", "accountId": "111122223333", "type": "AWS::EC2::Instance"}),
                ];
                ("autoscaling.amazonaws.com", c)
            }
            1 => (
                "autoscaling.amazonaws.com",
                call(
                    "ec2.amazonaws.com",
                    "TerminateInstances",
                    false,
                    json!({"instancesSet": {"items": [{"instanceId": "i-0d9f8e7c6b5a49382"}]}}),
                ),
            ),
            2 => (
                "ecs.amazonaws.com",
                call(
                    "elasticloadbalancing.amazonaws.com",
                    "RegisterTargets",
                    false,
                    json!({"targetGroupArn": format!("arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/{service}/6d0ecf831eec9f09"), "targets": [{"id": "10.0.3.17", "port": 8080}]}),
                ),
            ),
            3 => (
                "ecs.amazonaws.com",
                call(
                    "elasticloadbalancing.amazonaws.com",
                    "DeregisterTargets",
                    false,
                    json!({"targetGroupArn": format!("arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/{service}/6d0ecf831eec9f09"), "targets": [{"id": "10.0.3.17", "port": 8080}]}),
                ),
            ),
            _ => (
                "autoscaling.amazonaws.com",
                call(
                    "autoscaling.amazonaws.com",
                    "SetDesiredCapacity",
                    false,
                    json!({"autoScalingGroupName": format!("ecs-{cluster}-asg"), "desiredCapacity": rng.random_range(2..10), "honorCooldown": false}),
                ),
            ),
        }
    } else if roll < 0.85 {
        let who = if rng.random_bool(0.5) { "ci-deployer" } else { engineer };
        let c = match rng.random_range(0..6) {
            0 => call(
                "ec2.amazonaws.com",
                "DescribeInstances",
                true,
                json!({"instancesSet": {}, "filterSet": {}}),
            ),
            1 => call(
                "ec2.amazonaws.com",
                "DescribeSecurityGroups",
                true,
                json!({"securityGroupSet": {}, "filterSet": {}}),
            ),
            2 => call(
                "ec2.amazonaws.com",
                "DescribeSubnets",
                true,
                json!({"subnetSet": {}, "filterSet": {}}),
            ),
            3 => call(
                "ec2.amazonaws.com",
                "DescribeVpcs",
                true,
                json!({"vpcSet": {}, "filterSet": {}}),
            ),
            4 => call(
                "elasticloadbalancing.amazonaws.com",
                "DescribeTargetHealth",
                true,
                json!({"targetGroupArn": format!("arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/{service}/6d0ecf831eec9f09")}),
            ),
            _ => call(
                "autoscaling.amazonaws.com",
                "DescribeAutoScalingGroups",
                true,
                json!({"autoScalingGroupNames": [format!("ecs-{cluster}-asg")]}),
            ),
        };
        (who, c)
    } else if roll < 0.93 {
        if rng.random_bool(0.7) {
            let mut c = call(
                "sts.amazonaws.com",
                "AssumeRole",
                true,
                json!({"roleArn": "arn:aws:iam::111122223333:role/ecsTaskRole", "roleSessionName": task}),
            );
            c.resources = vec![
                json!({"ARN": "arn:aws:iam::111122223333:role/ecsTaskRole", "accountId": "111122223333", "type": "AWS::IAM::Role"}),
            ];
            ("ecs-tasks.amazonaws.com", c)
        } else {
            (
                engineer,
                call("sts.amazonaws.com", "GetCallerIdentity", true, Value::Null),
            )
        }
    } else if roll < 0.97 {
        let c = match rng.random_range(0..3) {
            0 => call(
                "iam.amazonaws.com",
                "GetRole",
                true,
                json!({"roleName": "ecsTaskExecutionRole"}),
            ),
            1 => call(
                "iam.amazonaws.com",
                "ListAttachedRolePolicies",
                true,
                json!({"roleName": "ecsTaskRole"}),
            ),
            _ => call("iam.amazonaws.com", "ListRoles", true, json!({})),
        };
        (engineer, c)
    } else {
        (engineer, console_login(rng.random_bool(0.92), rng.random_bool(0.7)))
    };
    // Some routine errors.
    if c.error.is_none() && c.source != "signin.amazonaws.com" && rng.random_bool(0.025) {
        c.error = Some(match rng.random_range(0..4) {
            0 => (
                "AccessDenied",
                format!(
                    "User: arn:aws:iam::111122223333:user/{engineer} is not authorized to perform: {}:{} because no identity-based policy allows the action",
                    c.source.split('.').next().unwrap_or("ecs"),
                    c.name
                ),
            ),
            1 => ("ThrottlingException", "Rate exceeded".to_string()),
            2 => ("ClusterNotFoundException", "Cluster not found.".to_string()),
            _ => (
                "InvalidParameterException",
                "The specified service is not active.".to_string(),
            ),
        });
    }
    (idx(actors, who), c)
}

fn console_login(success: bool, mfa: bool) -> Call {
    let mut c = call("signin.amazonaws.com", "ConsoleLogin", false, Value::Null);
    c.response = json!({"ConsoleLogin": if success { "Success" } else { "Failure" }});
    c.additional = Some(
        json!({"LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true", "MobileVersion": "No", "MFAUsed": if mfa { "Yes" } else { "No" }}),
    );
    if !success {
        c.error_message_only = Some("Failed authentication");
    }
    c
}

/// A leaked CI key used from an unknown address to map the ECS estate.
pub fn recon_calls() -> Vec<Call> {
    let mut v = vec![
        call("sts.amazonaws.com", "GetCallerIdentity", true, Value::Null),
        call("ecs.amazonaws.com", "ListClusters", true, json!({})),
    ];
    for cluster in CLUSTERS {
        v.push(call(
            "ecs.amazonaws.com",
            "DescribeClusters",
            true,
            json!({"clusters": [cluster]}),
        ));
        v.push(call(
            "ecs.amazonaws.com",
            "ListServices",
            true,
            json!({"cluster": cluster}),
        ));
        v.push(call(
            "ecs.amazonaws.com",
            "ListTaskDefinitions",
            true,
            json!({"familyPrefix": ""}),
        ));
    }
    for service in SERVICES {
        v.push(call(
            "ecs.amazonaws.com",
            "DescribeTaskDefinition",
            true,
            json!({"taskDefinition": format!("{service}:1")}),
        ));
    }
    for (source, name) in [
        ("iam.amazonaws.com", "ListUsers"),
        ("iam.amazonaws.com", "ListAccessKeys"),
        ("secretsmanager.amazonaws.com", "ListSecrets"),
    ] {
        let mut c = call(source, name, true, json!({}));
        c.error = Some((
            "AccessDenied",
            format!(
                "User: arn:aws:iam::111122223333:user/intruder is not authorized to perform: {}",
                name
            ),
        ));
        v.push(c);
    }
    v
}

/// CloudTrail switched off and deleted.
pub fn trail_tampering_calls() -> Vec<Call> {
    let trail = "arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events";
    vec![
        call(
            "cloudtrail.amazonaws.com",
            "DescribeTrails",
            true,
            json!({"includeShadowTrails": true}),
        ),
        call("cloudtrail.amazonaws.com", "StopLogging", false, json!({"name": trail})),
        call("cloudtrail.amazonaws.com", "DeleteTrail", false, json!({"name": trail})),
    ]
}

pub fn root_login_calls() -> Vec<Call> {
    vec![
        console_login(true, false),
        call("iam.amazonaws.com", "ListUsers", true, json!({})),
        call("iam.amazonaws.com", "CreateAccessKey", false, json!({})),
    ]
}

pub fn password_spray_calls() -> Vec<Call> {
    (0..12).map(|_| console_login(false, false)).collect()
}

pub fn open_security_group_calls() -> Vec<Call> {
    let mut c = call(
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        false,
        json!({
            "groupId": "sg-0f1e2d3c4b5a69788",
            "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}
        }),
    );
    c.response = json!({"_return": true});
    vec![
        call(
            "ec2.amazonaws.com",
            "DescribeSecurityGroups",
            true,
            json!({"securityGroupIdSet": {"items": [{"groupId": "sg-0f1e2d3c4b5a69788"}]}}),
        ),
        c,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_aws_shaped() {
        assert_eq!(id_suffix("alice", 17), id_suffix("alice", 17));
        assert_ne!(id_suffix("alice", 17), id_suffix("bob", 17));
        assert_eq!(id_suffix("alice", 17).len(), 17);
    }
}
