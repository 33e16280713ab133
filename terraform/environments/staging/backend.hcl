# terraform init -backend-config=backend.hcl. The bucket, table and key are terraform/bootstrap's
# outputs in this environment's account.
bucket         = "tessera-terraform-state-000000000000"
key            = "staging/terraform.tfstate"
region         = "eu-west-1"
dynamodb_table = "tessera-terraform-locks"
encrypt        = true
kms_key_id     = "alias/tessera-terraform-state"
