resource "aws_security_group" "tasks" {
  name        = "${var.name}-tasks"
  description = "Sextant API and worker tasks"
  vpc_id      = var.vpc_id
  ingress {
    description = "API from inside the VPC (put a load balancer in front)"
    from_port   = 4000
    to_port     = 4000
    protocol    = "tcp"
    cidr_blocks = [data.aws_vpc.this.cidr_block]
  }
  ingress {
    description = "Worker /metrics and /health/* (SEXTANT_METRICS_PORT) for a Prometheus inside the VPC"
    from_port   = 9464
    to_port     = 9464
    protocol    = "tcp"
    cidr_blocks = [data.aws_vpc.this.cidr_block]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "redis" {
  name        = "${var.name}-redis"
  description = "Redis, reachable from the Sextant tasks"
  vpc_id      = var.vpc_id
  ingress {
    from_port       = 6379
    to_port         = 6379
    protocol        = "tcp"
    security_groups = [aws_security_group.tasks.id]
  }
}

resource "aws_security_group" "redshift" {
  name        = "${var.name}-redshift"
  description = "Redshift Serverless, reachable from the Sextant tasks"
  vpc_id      = var.vpc_id
  ingress {
    from_port       = 5439
    to_port         = 5439
    protocol        = "tcp"
    security_groups = [aws_security_group.tasks.id]
  }
}

data "aws_vpc" "this" {
  id = var.vpc_id
}
