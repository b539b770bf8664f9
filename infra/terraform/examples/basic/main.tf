# The smallest real deployment: build the zips first (`make lambdas` at the
# repository root), then `terraform init && terraform apply` here.

terraform {
  required_version = ">= 1.11"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.40, < 7.0"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  description = "Where keyturn runs."
  type        = string
  default     = "eu-west-1"
}

variable "email_from" {
  description = "Verified SES sender."
  type        = string
}

variable "alarm_email" {
  description = "On-call address for alarms."
  type        = string
  default     = null
}

module "keyturn" {
  source      = "../.."
  email_from  = var.email_from
  alarm_email = var.alarm_email
}

output "approval_url" {
  description = "Where approval links point."
  value       = module.keyturn.approval_url
}

output "export_bucket" {
  description = "Where audit exports land."
  value       = module.keyturn.export_bucket
}
