# Copy to itb.tfvars (ignored by git) and adjust. The credentials are not set here: give them as
# TF_VAR_exchange_api_key, TF_VAR_exchange_api_secret, TF_VAR_telegram_bot_token,
# TF_VAR_telegram_chat_id, TF_VAR_serve_read_token, TF_VAR_serve_control_token, or set the Key
# Vault secrets out of band (docs/deploy.md).
subscription_id = "00000000-0000-0000-0000-000000000000"
name            = "itb"
location        = "westeurope"
config_file     = "../../configs/btcusdt-1m.jsonc"
image_tag       = "latest"
pipeline_cron   = "0 3 * * 0"
credentials     = ["api_key", "api_secret", "telegram_bot_token", "telegram_chat_id", "serve_read_token", "serve_control_token", "azure_storage_connection_string"]
