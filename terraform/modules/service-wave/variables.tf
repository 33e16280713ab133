variable "services" {
  description = "The wave's services: name => the ecs-service arguments it is called with (port, image, environment, secrets, the fleet's cluster and network, ...) and calls, the services it calls. An object rather than a typed map: the services' environment and secrets differ in their keys; ecs-service types each argument."
  type        = any
}

variable "started" {
  description = "The services the earlier waves started: name => ECS service name. Every service a service here calls must be one of them."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue(flatten([
      for service in values(var.services) : [for callee in service.calls : contains(keys(var.started), callee)]
    ]))
    error_message = "A service calls one that no earlier wave started: give it a later wave (start in modules/platform/services.tf)."
  }
}
