# Public-IP traps (issue 10 class 9): every instance below gets a public IPv4 address in the
# weight VPC, yet checkov's CKV_AWS_88 passes it (it reads associate_public_ip_address only).
provider "aws" {
  region              = "us-east-1"
  allowed_account_ids = ["111122223333"]
}

locals {
  weight_tags = { "asl:asset" = "model-weights" }
}

resource "aws_vpc" "weights" {
  cidr_block = "10.30.0.0/16"
  tags       = local.weight_tags
}

resource "aws_subnet" "public_on_launch" {
  vpc_id                  = aws_vpc.weights.id
  cidr_block              = "10.30.1.0/24"
  map_public_ip_on_launch = true
}

# A subnet that maps public IPs through a string the provider converts to true.
resource "aws_subnet" "public_string" {
  vpc_id                  = aws_vpc.weights.id
  cidr_block              = "10.30.2.0/24"
  map_public_ip_on_launch = "true"
}

resource "aws_subnet" "private" {
  vpc_id     = aws_vpc.weights.id
  cidr_block = "10.30.3.0/24"
}

# 1. No associate_public_ip_address: the subnet assigns one at launch.
resource "aws_instance" "subnet_default" {
  ami           = "ami-0123456789abcdef0"
  instance_type = "t3.micro"
  subnet_id     = aws_subnet.public_on_launch.id
  tags          = local.weight_tags
  metadata_options {
    http_tokens = "required"
  }
}

# 2. The subnet's "true" is a string.
resource "aws_instance" "subnet_string" {
  ami           = "ami-0123456789abcdef0"
  instance_type = "t3.micro"
  subnet_id     = aws_subnet.public_string.id
  tags          = local.weight_tags
  metadata_options {
    http_tokens = "required"
  }
}

# 3. A private subnet, associate_public_ip_address = false, and an elastic IP.
resource "aws_instance" "elastic" {
  ami                         = "ami-0123456789abcdef0"
  instance_type               = "t3.micro"
  subnet_id                   = aws_subnet.private.id
  associate_public_ip_address = false
  tags                        = local.weight_tags
  metadata_options {
    http_tokens = "required"
  }
}

resource "aws_eip" "elastic" {
  domain   = "vpc"
  instance = aws_instance.elastic.id
}

# 4. The same through aws_eip_association.
resource "aws_instance" "associated" {
  ami                         = "ami-0123456789abcdef0"
  instance_type               = "t3.micro"
  subnet_id                   = aws_subnet.private.id
  associate_public_ip_address = false
  tags                        = local.weight_tags
  metadata_options {
    http_tokens = "required"
  }
}

resource "aws_eip" "spare" {
  domain = "vpc"
}

resource "aws_eip_association" "associated" {
  instance_id   = aws_instance.associated.id
  allocation_id = aws_eip.spare.id
}

# Control: private subnet, no address.
resource "aws_instance" "private" {
  ami           = "ami-0123456789abcdef0"
  instance_type = "t3.micro"
  subnet_id     = aws_subnet.private.id
  tags          = local.weight_tags
  metadata_options {
    http_tokens = "required"
  }
}
