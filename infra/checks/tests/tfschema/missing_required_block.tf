# expect: aws_scheduler_schedule.s: missing required block target
resource "aws_scheduler_schedule" "s" {
  schedule_expression = "rate(1 day)"
  flexible_time_window {
    mode = "OFF"
  }
}
