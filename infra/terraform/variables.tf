variable "email_from" {
  description = "Verified SES sender of approval and on-call email, e.g. keyturn@example.com."
  type        = string
  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.email_from))
    error_message = "email_from must be an email address such as keyturn@example.com."
  }
}

variable "ses_identity" {
  description = "Domain or address to create as an SES identity (publish its verification/DKIM records yourself). Null when the sender is already verified."
  type        = string
  default     = null
}

variable "prefix" {
  description = "Prefix of every named resource: tables <prefix>connectors, functions <prefix>scanner, state machine <prefix>rotation."
  type        = string
  default     = "keyturn-"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}-$", var.prefix))
    error_message = "prefix must be lower-case letters, digits and dashes, start with a letter and end with '-' (at most 32 characters)."
  }
}

variable "connector_secret_prefix" {
  description = "Connector secrets keyturn may read and rotate have names starting with this; the rotation functions can touch no other secret."
  type        = string
  default     = "keyturn/connectors/"
  validation {
    condition     = length(var.connector_secret_prefix) > 0 && !strcontains(var.connector_secret_prefix, "*")
    error_message = "connector_secret_prefix must be a non-empty name prefix without wildcards."
  }
}

variable "lambda_dir" {
  description = "Where `cargo lambda build --release --arm64 --output-format zip` wrote keyturn-lambda/bootstrap.zip (make lambdas)."
  type        = string
  default     = null
}

variable "scan_schedule" {
  description = "When the scanner runs, as an EventBridge Scheduler expression (UTC)."
  type        = string
  default     = "cron(0 6 * * ? *)"
  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.scan_schedule))
    error_message = "scan_schedule must be cron(...) or rate(...)."
  }
}

variable "due_within_days" {
  description = "Keys expiring within this many days are due."
  type        = number
  default     = 45
  validation {
    condition     = var.due_within_days >= 1 && var.due_within_days <= 365 && floor(var.due_within_days) == var.due_within_days
    error_message = "due_within_days must be a whole number from 1 to 365."
  }
}

variable "grouping" {
  description = "How due keys are batched into changes: connector, org or window."
  type        = string
  default     = "org"
  validation {
    condition     = contains(["connector", "org", "window"], var.grouping)
    error_message = "grouping must be connector, org or window."
  }
}

variable "approval_timeout" {
  description = "How long approvers have, e.g. 72h, 2d, 30m."
  type        = string
  default     = "72h"
  validation {
    condition     = can(regex("^[0-9]+[smhd]$", var.approval_timeout))
    error_message = "approval_timeout must be a number with s, m, h or d, e.g. 72h."
  }
}

variable "urgent_approval_timeout" {
  description = "How long approvers have when a key has already expired."
  type        = string
  default     = "4h"
  validation {
    condition     = can(regex("^[0-9]+[smhd]$", var.urgent_approval_timeout))
    error_message = "urgent_approval_timeout must be a number with s, m, h or d, e.g. 4h."
  }
}

variable "link_ttl" {
  description = "How long approval links stay valid, at most the approval timeout; null: the approval timeout."
  type        = string
  default     = null
  validation {
    condition     = var.link_ttl == null || can(regex("^[0-9]+[smhd]$", var.link_ttl))
    error_message = "link_ttl must be a number with s, m, h or d, e.g. 24h."
  }
}

variable "map_concurrency" {
  description = "Connectors of one change rotated at once (the workflow's Map)."
  type        = number
  default     = 10
  validation {
    condition     = var.map_concurrency >= 1 && var.map_concurrency <= 1000 && floor(var.map_concurrency) == var.map_concurrency
    error_message = "map_concurrency must be a whole number from 1 to 1000."
  }
}

variable "intake_timeout" {
  description = "How long an owner has to paste a vendor-console key (Atlassian SCIM)."
  type        = string
  default     = "24h"
  validation {
    condition     = can(regex("^[0-9]+[smhd]$", var.intake_timeout))
    error_message = "intake_timeout must be a number with s, m, h or d, e.g. 24h."
  }
}

variable "approval_overdue_hours" {
  description = "Alarm when an approval or key intake has waited this many hours."
  type        = number
  default     = 48
  validation {
    condition     = var.approval_overdue_hours >= 1
    error_message = "approval_overdue_hours must be at least 1."
  }
}

variable "entra_secret_arn" {
  description = "Existing secret {tenant_id, client_id, client_secret} for Microsoft Graph, or null for no Entra consumer."
  type        = string
  default     = null
}

variable "okta_secret_arn" {
  description = "Existing secret {domain, api_token} for the Okta API, or null for no Okta consumer."
  type        = string
  default     = null
}

variable "jira" {
  description = "Jira for urgent changes: base URL, project key and an existing secret with {user, token} or {bearer}. Null for no tickets."
  type = object({
    url                    = string
    project                = string
    credentials_secret_arn = string
  })
  default = null
  validation {
    condition     = var.jira == null || startswith(try(var.jira.url, ""), "https://")
    error_message = "jira.url must be an https:// URL."
  }
}

variable "approval_domain" {
  description = "Serve approval links from your own domain through CloudFront (certificate in us-east-1). Null: links point at the Function URL."
  type = object({
    domain_name     = string
    certificate_arn = string
  })
  default = null
}

variable "alarm_email" {
  description = "Address subscribed to the alarm topic, or null to subscribe yourself."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention of the functions and the workflow."
  type        = number
  default     = 365
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ..., 365, ..., 3653)."
  }
}

variable "allowed_hosts" {
  description = "Hosts (or .suffixes) vendor, Slack and Jira calls may reach, e.g. [\".atlassian.com\", \"graph.microsoft.com\"]. Empty: any public host. Private, loopback and metadata addresses are refused regardless."
  type        = list(string)
  default     = []
}

variable "tracing" {
  description = "Turn on X-Ray tracing of the workflow."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = { app = "keyturn" }
}

variable "asl_path" {
  description = "The state machine definition; null for the repository's statemachine/rotation.asl.json."
  type        = string
  default     = null
}
