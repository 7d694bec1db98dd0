// The apps library: prebuilt, versioned dashboards for CloudTrail. Queries use our query
// language; every field is one of the table's (docs/schema.md).

import { app, type AppDef } from "./build";

const DELETIONS = "eventName:(Delete* or Remove* or Terminate* or Stop*Logging)";
const DENIED = "errorCode:(*AccessDenied* or *Unauthorized*)";
const NETWORK =
  "readOnly:false and eventName:(AuthorizeSecurityGroup* or RevokeSecurityGroup* or CreateSecurityGroup or DeleteSecurityGroup or *NetworkAcl* or CreateRoute* or DeleteRoute* or ReplaceRoute* or AssociateRouteTable or DisassociateRouteTable or CreateVpc or DeleteVpc or ModifyVpcAttribute or *InternetGateway* or *NatGateway*)";
const LOGINS = "eventName:ConsoleLogin";
const FAILED_LOGINS = "eventName:ConsoleLogin and responseElements.ConsoleLogin:Failure";
const ECS = "eventSource:ecs.amazonaws.com";
const NOT_AWS = 'not sourceIPAddress:*.amazonaws.com and not sourceIPAddress:"AWS Internal"';

export const SECURITY = app(
  {
    id: "cloudtrail-security",
    title: "CloudTrail Security & Auditing",
    version: 2,
    description:
      "Console logins (success or failure, with or without MFA) by user, source IP and country; root account activity; deletions; access denied; top users and roles; network-security changes; calls from new countries; a map of callers.",
  },
  "CloudTrail: security and auditing",
  [
    { id: "logins-result", title: "Console logins: success or failure", type: "pie", query: LOGINS, split: "responseElements.ConsoleLogin", w: 4 },
    { id: "logins-mfa", title: "Console logins: MFA used", type: "pie", query: LOGINS, split: "additionalEventData.MFAUsed", w: 4 },
    { id: "logins-country", title: "Console logins by country", type: "table", query: LOGINS, split: "geoip.country_name", size: 10, w: 4 },
    { id: "logins-user", title: "Console logins by user", type: "table", query: LOGINS, split: "userIdentity.arn", size: 10, w: 6 },
    { id: "logins-ip", title: "Console logins by source IP", type: "table", query: LOGINS, split: "sourceIPAddress", size: 10, w: 6 },
    { id: "failed-user", title: "Failed console logins by user", type: "table", query: FAILED_LOGINS, split: "userIdentity.arn", size: 10, w: 4 },
    { id: "failed-ip", title: "Failed console logins by source IP", type: "table", query: FAILED_LOGINS, split: "sourceIPAddress", size: 10, w: 4 },
    { id: "failed-country", title: "Failed console logins by country", type: "table", query: FAILED_LOGINS, split: "geoip.country_name", size: 10, w: 4 },
    { id: "root", title: "Root account activity", type: "table", query: "userIdentity.type:Root", split: "eventName", size: 10, w: 6 },
    { id: "denied", title: "Access denied by user", type: "table", query: DENIED, split: "userIdentity.arn", size: 10, w: 6 },
    { id: "deletions-user", title: "Deletions by user", type: "table", query: DELETIONS, split: "userIdentity.arn", size: 10, w: 6 },
    { id: "deletions-service", title: "Deletions by service", type: "pie", query: DELETIONS, split: "eventSource", size: 8, w: 6 },
    { id: "network-time", title: "Network-security changes", type: "bar", query: NETWORK, series: "eventName", w: 6 },
    { id: "network-user", title: "Network-security changes by user", type: "table", query: NETWORK, split: "userIdentity.arn", size: 10, w: 6 },
    { id: "top-users", title: "Top users and roles", type: "table", query: "userIdentity.arn:*", split: "userIdentity.arn", size: 10, w: 6 },
    {
      id: "new-countries",
      title: "Calls from new countries (first seen)",
      type: "table",
      split: "geoip.country_name",
      size: 10,
      metric: { type: "min", field: "eventTime" },
      // First seen over all history, so a country seen months ago is not "new".
      allHistory: true,
      w: 6,
    },
    { id: "map", title: "Map of callers", type: "map", w: 12, h: 10 },
  ],
);

export const ECS_ACTIVITY = app(
  {
    id: "ecs-activity",
    title: "ECS activity",
    version: 1,
    description: "Amazon ECS API calls over time, by cluster, action and user or role, errors; with the top 5 source IPs, a map of callers and ECS events over time.",
  },
  "ECS activity",
  [
    { id: "over-time", title: "ECS events over time", type: "line", query: ECS, w: 12, h: 7 },
    { id: "top-ips", title: "Top 5 source IPs", type: "table", query: ECS, split: "sourceIPAddress", size: 5, w: 4 },
    { id: "map", title: "ECS callers", type: "map", query: ECS, w: 8 },
    { id: "clusters", title: "ECS calls by cluster", type: "table", query: ECS, split: "requestParameters.cluster", size: 10, w: 4 },
    { id: "actions", title: "ECS calls by action", type: "table", query: ECS, split: "eventName", size: 10, w: 4 },
    { id: "users", title: "ECS calls by user or role", type: "table", query: ECS, split: "userIdentity.arn", size: 10, w: 4 },
    { id: "actions-time", title: "ECS actions over time", type: "bar", query: ECS, series: "eventName", w: 8 },
    { id: "errors", title: "ECS errors", type: "table", query: `${ECS} and errorCode:*`, split: "errorCode", size: 10, w: 4 },
  ],
);

export const OVERVIEW = app(
  {
    id: "cloudtrail-overview",
    title: "CloudTrail overview",
    version: 2,
    description: "Events over time and by account, region, service and event name; read versus write; the error rate and errors by code; the top source IPs that are not AWS services.",
  },
  "CloudTrail overview",
  [
    { id: "events", title: "Events", type: "metric", w: 3, h: 5 },
    { id: "errors", title: "Errors", type: "metric", query: "errorCode:*", w: 3, h: 5 },
    { id: "users", title: "Users and roles", type: "metric", metric: { type: "cardinality", field: "userIdentity.arn" }, w: 3, h: 5 },
    { id: "ips", title: "Source IPs", type: "metric", metric: { type: "cardinality", field: "sourceIPAddress" }, w: 3, h: 5 },
    { id: "over-time", title: "Events over time by service", type: "bar", series: "eventSource", w: 12, h: 8 },
    { id: "accounts", title: "Events by account", type: "table", split: "recipientAccountId", size: 10, w: 4 },
    { id: "regions", title: "Events by region", type: "pie", split: "awsRegion", size: 8, w: 4 },
    { id: "services", title: "Events by service", type: "pie", split: "eventSource", size: 8, w: 4 },
    { id: "names", title: "Top event names", type: "table", split: "eventName", size: 10, w: 4 },
    { id: "read-write", title: "Read versus write", type: "pie", split: "readOnly", size: 2, w: 4 },
    { id: "error-rate", title: "Error rate", type: "line", metric: { type: "percent", query: "errorCode:*" }, w: 4 },
    { id: "top-ips", title: "Top source IPs (not AWS services)", type: "table", query: NOT_AWS, split: "sourceIPAddress", size: 10, w: 6 },
    { id: "error-codes", title: "Errors by code", type: "table", query: "errorCode:*", split: "errorCode", size: 10, w: 6 },
    { id: "errors-time", title: "Errors over time by code", type: "bar", query: "errorCode:*", series: "errorCode", w: 12, h: 7 },
  ],
);

export const APPS: AppDef[] = [SECURITY, ECS_ACTIVITY, OVERVIEW];
