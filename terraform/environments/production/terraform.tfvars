# This account's own values. The placeholders below make every plan fail until they are
# replaced (allowed_account_ids refuses any real account).
account_id         = "000000000000"
region             = "eu-west-1"
availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
certificate_arn    = "arn:aws:acm:eu-west-1:000000000000:certificate/00000000-0000-0000-0000-000000000000"
mail_from          = "Tessera <no-reply@example.com>"

# The release the services run (git rev-parse --short=12 HEAD of the pushed images).
image_tag = "0000000000000"
