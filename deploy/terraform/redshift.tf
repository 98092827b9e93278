# Redshift Serverless: the warehouse. COPY (loads) and UNLOAD (exports) use the role in iam.tf.
resource "aws_redshiftserverless_namespace" "warehouse" {
  namespace_name        = "${var.name}-warehouse"
  db_name               = "dev"
  admin_username        = var.redshift_admin_username
  manage_admin_password = true
  iam_roles             = [aws_iam_role.redshift_copy.arn]
  default_iam_role_arn  = aws_iam_role.redshift_copy.arn
}

resource "aws_redshiftserverless_workgroup" "warehouse" {
  namespace_name      = aws_redshiftserverless_namespace.warehouse.namespace_name
  workgroup_name      = "${var.name}-warehouse"
  base_capacity       = var.redshift_base_capacity
  subnet_ids          = var.private_subnet_ids
  security_group_ids  = [aws_security_group.redshift.id]
  publicly_accessible = false
}
