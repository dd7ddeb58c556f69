# Ferry's web UI (the module's create_ui) in the example VPC. The module wants
# private subnets with a route to the internet for the task: the example
# application has public subnets only (examples/app keeps its idle cost down
# without NAT), so this adds two private subnets and one NAT gateway, only with
# create_ui. The UI's load balancer uses the application's public subnets.
#
# One NAT gateway, in the first zone: a trial needs no zone-redundant egress.
# It costs more than the UI task itself (docs/install.md has the figures);
# in a VPC that already has NAT, give the module your private subnets instead.

locals {
  ui_private_subnet_count = var.create_ui ? 2 : 0

  # The task's subnets, taken from their route table associations and only next to
  # the route through NAT: the UI service (the one resource of the module that uses
  # them) then waits until its subnets reach the internet. (A depends_on on the
  # module would do it too, but would defer every data source in the module to apply.)
  ui_task_subnet_ids = [
    for association in aws_route_table_association.ui_private : association.subnet_id
    if length(aws_route.ui_private_internet) > 0
  ]
}

resource "aws_subnet" "ui_private" {
  count = local.ui_private_subnet_count

  vpc_id                  = module.app.vpc_id
  availability_zone       = module.app.availability_zones[count.index]
  cidr_block              = cidrsubnet(module.app.vpc_cidr, 8, 100 + count.index)
  map_public_ip_on_launch = false
  tags                    = { Name = "ferry-ui-private-${module.app.availability_zones[count.index]}" }
}

resource "aws_eip" "ui_nat" {
  count = var.create_ui ? 1 : 0

  domain = "vpc"
  tags   = { Name = "ferry-ui-nat" }
}

resource "aws_nat_gateway" "ui" {
  count = var.create_ui ? 1 : 0

  allocation_id = aws_eip.ui_nat[0].id
  subnet_id     = module.app.public_subnet_ids[0]
  tags          = { Name = "ferry-ui" }
}

resource "aws_route_table" "ui_private" {
  count = var.create_ui ? 1 : 0

  vpc_id = module.app.vpc_id
  tags   = { Name = "ferry-ui-private" }
}

resource "aws_route" "ui_private_internet" {
  count = var.create_ui ? 1 : 0

  route_table_id         = aws_route_table.ui_private[0].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.ui[0].id
}

resource "aws_route_table_association" "ui_private" {
  count = local.ui_private_subnet_count

  subnet_id      = aws_subnet.ui_private[count.index].id
  route_table_id = aws_route_table.ui_private[0].id
}
