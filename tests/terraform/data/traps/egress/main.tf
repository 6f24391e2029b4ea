# Egress traps (issue 10 class 9): every security group below sits in the weight VPC and lets
# all traffic out to the internet, yet checkov's CKV_AWS_382 passes the group itself.
provider "aws" {
  region              = "us-east-1"
  allowed_account_ids = ["111122223333"]
}

locals {
  weight_tags = { "asl:asset" = "model-weights" }
}

resource "aws_vpc" "weights" {
  cidr_block = "10.20.0.0/16"
  tags       = local.weight_tags
}

# 1. The open egress is a separate aws_security_group_rule.
resource "aws_security_group" "rule_resource" {
  name   = "rule-resource"
  vpc_id = aws_vpc.weights.id
}

resource "aws_security_group_rule" "rule_resource_out" {
  type              = "egress"
  security_group_id = aws_security_group.rule_resource.id
  protocol          = "-1"
  from_port         = 0
  to_port           = 0
  cidr_blocks       = ["0.0.0.0/0"]
}

# 2. The open egress is an aws_vpc_security_group_egress_rule (ip_protocol -1 has no ports).
resource "aws_security_group" "vpc_rule" {
  name   = "vpc-rule"
  vpc_id = aws_vpc.weights.id
}

resource "aws_vpc_security_group_egress_rule" "vpc_rule_out" {
  security_group_id = aws_security_group.vpc_rule.id
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

# 3. Inline rules, the first one "self": checkov stops reading at it.
resource "aws_security_group" "self_first" {
  name   = "self-first"
  vpc_id = aws_vpc.weights.id
  egress {
    protocol  = "-1"
    from_port = 0
    to_port   = 0
    self      = true
  }
  egress {
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = ["0.0.0.0/0"]
  }
}

# 4. A prefix list beside 0.0.0.0/0 in the same rule: checkov treats the rule as restricted.
resource "aws_security_group" "prefix_list" {
  name   = "prefix-list"
  vpc_id = aws_vpc.weights.id
  egress {
    protocol        = "-1"
    from_port       = 0
    to_port         = 0
    cidr_blocks     = ["0.0.0.0/0"]
    prefix_list_ids = ["pl-0123456789abcdef0"]
  }
}

# 5. Protocol spelled "all" on a rule resource (the provider accepts it as -1).
resource "aws_security_group" "all_word" {
  name   = "all-word"
  vpc_id = aws_vpc.weights.id
}

resource "aws_security_group_rule" "all_word_out" {
  type              = "egress"
  security_group_id = aws_security_group.all_word.id
  protocol          = "all"
  from_port         = 0
  to_port           = 0
  cidr_blocks       = ["0.0.0.0/0"]
}

# Control: a group whose only egress is to the VPC itself.
resource "aws_security_group" "restricted" {
  name   = "restricted"
  vpc_id = aws_vpc.weights.id
  egress {
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = ["10.20.0.0/16"]
  }
}
