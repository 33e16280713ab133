# The platform's topics. The services run with KAFKA_CREATE_TOPICS=false here: a topic they
# create gets their built-in 3 partitions and replication factor 1, which MSK must not have.
# Topics are created instead by the one-off task below (terraform/scripts/run-task ... kafka-topics),
# with the cluster's replication and partitions, before the first deploy and after adding one.
#
# A test (libs/deploy-checks/tests/deploy/terraform.rs) checks event_topics against `ALL` in
# libs/events/src/topics.rs and consumers against each service's CONSUMES.

locals {
  event_topics = [
    "user.registered",
    "user.erased",
    "charge.succeeded",
    "charge.failed",
    "charge.refunded",
    "withdrawal.recorded",
    "order.completed",
    "points.earned",
    "points.redeemed",
    "points.reversed",
    "points.expired",
    "points.adjusted",
    "points.expiring",
    "tier.upgraded",
    "tier.downgraded",
    "tier.downgrade_warning",
    "business.created",
    "store.created",
    "stamps.issued",
    "stamps.voided",
    "stamp_card.completed",
    "reward.redemption_requested",
    "points.held",
    "points.hold_refused",
    "reward.redeemed",
    "reward.used",
    "reward.cancelled",
    "campaign.goal_achieved",
    "campaign.reward_due",
    "campaign.disqualified",
    "campaign.window_ending",
    "campaign.completed",
    "campaign.bonus_window_changed",
  ]

  # Each consumer group (named after its service) and the topics it consumes. A message a
  # consumer cannot process goes to <topic>.dlq.<consumer>, which must exist as well.
  consumers = {
    user = [
      "tier.upgraded",
      "tier.downgraded",
      "points.expiring",
      "reward.redeemed",
      "reward.cancelled",
      "stamp_card.completed",
      "campaign.goal_achieved",
      "campaign.window_ending",
      "campaign.disqualified",
      "campaign.completed",
    ]
    point = [
      "user.registered",
      "user.erased",
      "charge.succeeded",
      "charge.refunded",
      "order.completed",
      "campaign.reward_due",
      "campaign.bonus_window_changed",
      "store.created",
      "reward.redemption_requested",
      "reward.redeemed",
      "reward.cancelled",
    ]
    rewards = [
      "points.held",
      "points.hold_refused",
      "user.erased",
      "user.registered",
      "charge.succeeded",
      "charge.refunded",
      "withdrawal.recorded",
      "points.earned",
    ]
    admin = [
      "user.registered",
      "user.erased",
      "charge.succeeded",
      "points.earned",
      "reward.redeemed",
      "reward.used",
      "reward.cancelled",
    ]
    payment = [
      "user.erased",
    ]
  }

  dead_letter_topics = flatten([
    for consumer, topics in local.consumers : [for topic in topics : "${topic}.dlq.${consumer}"]
  ])
}
