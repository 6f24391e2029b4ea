# Isolated weight VPC: private subnets only, no internet or NAT gateway, S3 reached through a
# gateway endpoint, all traffic flow-logged, and egress limited to the S3 prefix list.
resource "aws_vpc" "weights" {
  cidr_block           = "10.40.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = local.weight_tags
}

resource "aws_default_security_group" "weights" {
  vpc_id = aws_vpc.weights.id
}

resource "aws_subnet" "weights_a" {
  vpc_id            = aws_vpc.weights.id
  cidr_block        = "10.40.1.0/24"
  availability_zone = "us-east-1a"
}

resource "aws_subnet" "weights_b" {
  vpc_id            = aws_vpc.weights.id
  cidr_block        = "10.40.2.0/24"
  availability_zone = "us-east-1b"
}

resource "aws_route_table" "weights_private" {
  vpc_id = aws_vpc.weights.id
}

resource "aws_route_table_association" "weights_a" {
  subnet_id      = aws_subnet.weights_a.id
  route_table_id = aws_route_table.weights_private.id
}

resource "aws_route_table_association" "weights_b" {
  subnet_id      = aws_subnet.weights_b.id
  route_table_id = aws_route_table.weights_private.id
}

resource "aws_vpc_endpoint" "weights_s3" {
  vpc_id            = aws_vpc.weights.id
  service_name      = "com.amazonaws.us-east-1.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.weights_private.id]
  policy            = data.aws_iam_policy_document.weights_endpoint.json
}

data "aws_iam_policy_document" "weights_endpoint" {
  statement {
    sid       = "OwnBucketsOnly"
    actions   = ["s3:*"]
    resources = ["*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceAccount"
      values   = ["111122223333"]
    }
  }
}

resource "aws_security_group" "serving" {
  name        = "weights-serving"
  description = "Model servers: HTTPS from the internal load balancer, egress to S3 only"
  vpc_id      = aws_vpc.weights.id

  ingress {
    description = "HTTPS from the VPC"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = [aws_vpc.weights.cidr_block]
  }

  egress {
    description     = "HTTPS to S3 through the gateway endpoint"
    from_port       = 443
    to_port         = 443
    protocol        = "tcp"
    prefix_list_ids = [aws_vpc_endpoint.weights_s3.prefix_list_id]
  }
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  name              = "/security/vpc-flow-logs/weights"
  retention_in_days = 365
  kms_key_id        = aws_kms_key.logs.arn
}

data "aws_iam_policy_document" "flow_logs_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "flow_logs" {
  name               = "vpc-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_trust.json
}

resource "aws_iam_role_policy" "flow_logs" {
  name = "deliver"
  role = aws_iam_role.flow_logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
      Resource = "${aws_cloudwatch_log_group.flow_logs.arn}:*"
    }]
  })
}

resource "aws_flow_log" "weights" {
  vpc_id          = aws_vpc.weights.id
  traffic_type    = "ALL"
  log_destination = aws_cloudwatch_log_group.flow_logs.arn
  iam_role_arn    = aws_iam_role.flow_logs.arn
}
