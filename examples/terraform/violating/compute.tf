# A model server in the isolated VPC, with IMDSv2 only and an alarm on its outbound bytes
# sized to the declared egress budget (10 GB/hour -> at most 833 MB per 5 minutes).
resource "aws_iam_instance_profile" "serving" {
  name = "weights-serving"
  role = aws_iam_role.serving.name
}

resource "aws_instance" "serving" {
  ami                         = "ami-0abcdef1234567890"
  instance_type               = "p5.48xlarge"
  subnet_id                   = aws_subnet.weights_a.id
  vpc_security_group_ids      = [aws_security_group.serving.id]
  iam_instance_profile        = aws_iam_instance_profile.serving.name
  associate_public_ip_address = false
  monitoring                  = true
  ebs_optimized               = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    encrypted   = true
    kms_key_id  = aws_kms_key.weights.arn
    volume_size = 500
  }

  tags = local.weight_tags
}

resource "aws_cloudwatch_metric_alarm" "serving_egress" {
  alarm_name          = "weights-serving-egress"
  namespace           = "AWS/EC2"
  metric_name         = "NetworkOut"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 800000000
  comparison_operator = "GreaterThanThreshold"
  alarm_actions       = ["arn:aws:sns:us-east-1:111122223333:security-pager"]
  dimensions = {
    InstanceId = aws_instance.serving.id
  }
}
