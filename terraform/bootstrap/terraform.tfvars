# Replace with the account being bootstrapped (the placeholder makes every plan fail).
account_id = "000000000000"
region     = "eu-west-1"
