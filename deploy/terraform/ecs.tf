# ECS on Fargate: the API and worker roles of one image, one signing secret for both.
resource "aws_ecs_cluster" "this" {
  name = var.name
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}"
  retention_in_days = 30
}

locals {
  environment = [
    { name = "NODE_ENV", value = "production" },
    { name = "HOST", value = "0.0.0.0" },
    { name = "PORT", value = "4000" },
    { name = "SEXTANT_OBJECT_STORE", value = "s3://${aws_s3_bucket.data.bucket}" },
    { name = "AWS_REGION", value = var.region },
    { name = "SEXTANT_REDIS_URL", value = "redis://${aws_elasticache_replication_group.redis.primary_endpoint_address}:6379" },
    { name = "SEXTANT_REDSHIFT_IAM_ROLE", value = aws_iam_role.redshift_copy.arn },
    { name = "SEXTANT_DEMO", value = "off" },
  ]
  secrets = [
    { name = "SEXTANT_WAREHOUSE", valueFrom = var.warehouse_url_secret_arn },
    { name = "SEXTANT_SIGNING_SECRET", valueFrom = var.signing_secret_arn },
  ]
  roles = {
    api    = { count = var.api_count, cpu = 512, memory = 1024, stop_timeout = 30, port = 4000 }
    worker = { count = var.worker_count, cpu = 1024, memory = 2048, stop_timeout = 120, port = 9464 }
  }
}

resource "aws_ecs_task_definition" "role" {
  for_each                 = local.roles
  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions = jsonencode([{
    name         = each.key
    image        = var.image
    essential    = true
    command      = ["node", "bin/sextant.js", "serve"]
    environment  = concat(local.environment, [{ name = "SEXTANT_ROLE", value = each.key }], each.key == "worker" ? [{ name = "SEXTANT_METRICS_PORT", value = tostring(each.value.port) }] : [])
    secrets      = local.secrets
    stopTimeout  = each.value.stop_timeout
    portMappings = [{ containerPort = each.value.port, protocol = "tcp" }]
    # The API serves /health/* on PORT; a worker on SEXTANT_METRICS_PORT, beside /metrics.
    healthCheck = {
      command  = ["CMD", "node", "-e", "fetch('http://127.0.0.1:${each.value.port}/health/live').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
      interval = 30
      timeout  = 5
      retries  = 3
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = var.region
        awslogs-stream-prefix = each.key
      }
    }
  }])
}

resource "aws_ecs_service" "role" {
  for_each        = local.roles
  name            = "${var.name}-${each.key}"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.role[each.key].arn
  desired_count   = each.value.count
  launch_type     = "FARGATE"
  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }
  deployment_minimum_healthy_percent = 50
  deployment_maximum_percent         = 200
}
