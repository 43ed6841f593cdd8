# The inputs of deploy/terraform. Put the non-secret ones in a .tfvars file; give the secret ones
# as TF_VAR_* environment variables (or leave them null and set the Key Vault secrets out of band,
# `az keyvault secret set`): they are never written into a file of this repository.

variable "subscription_id" {
  description = "The Azure subscription to deploy into."
  type        = string
}

variable "name" {
  description = "Prefix of every resource's name (letters and digits, 3 to 12 characters: storage accounts, registries and vaults allow no dashes)."
  type        = string
  default     = "itb"
  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,11}$", var.name))
    error_message = "name: 3 to 12 lower-case letters and digits, starting with a letter."
  }
}

variable "location" {
  description = "Azure region of every resource."
  type        = string
  default     = "westeurope"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "image_tag" {
  description = "Tag of the itb image in the registry (the image workflow pushes the commit's sha and latest)."
  type        = string
  default     = "latest"
}

variable "config_file" {
  description = "Path of the itb config (JSONC) uploaded to the file share as itb.jsonc and served. Its data_folder must be relative (./data): the share is the container's working directory."
  type        = string
  default     = "../../configs/btcusdt-1m.jsonc"
}

variable "serve_cpu" {
  description = "vCPUs of the itb serve container (Container Apps sizes: 0.25 to 4)."
  type        = number
  default     = 1
}

variable "serve_memory" {
  description = "Memory of the itb serve container (2 GiB per vCPU, e.g. 2Gi for 1 vCPU)."
  type        = string
  default     = "2Gi"
}

variable "pipeline_cron" {
  description = "When the pipeline job runs (`itb pipeline`: download, features, labels, train, ...), a UTC cron expression."
  type        = string
  default     = "0 3 * * 0"
}

variable "pipeline_cpu" {
  description = "vCPUs of the pipeline job's container."
  type        = number
  default     = 2
}

variable "pipeline_memory" {
  description = "Memory of the pipeline job's container."
  type        = string
  default     = "4Gi"
}

variable "pipeline_timeout_seconds" {
  description = "The longest a pipeline run may take before it is stopped."
  type        = number
  default     = 14400
}

variable "log_retention_days" {
  description = "Days the Log Analytics workspace keeps the containers' logs."
  type        = number
  default     = 30
}

variable "data_share_quota_gb" {
  description = "Size of the file share holding the data folder (stores, models, ledger), in GiB."
  type        = number
  default     = 100
}

variable "redis_enabled" {
  description = "Create an Azure Cache for Redis for the distributed pipeline's queue (coming: no itb command uses it yet)."
  type        = bool
  default     = false
}

variable "exchange_api_key" {
  description = "Exchange API key, stored in the Key Vault (itb-api-key). Null: set the secret out of band."
  type        = string
  default     = null
  sensitive   = true
}

variable "exchange_api_secret" {
  description = "Exchange API secret, stored in the Key Vault (itb-api-secret). Null: set the secret out of band."
  type        = string
  default     = null
  sensitive   = true
}

variable "telegram_bot_token" {
  description = "Telegram bot token, stored in the Key Vault (itb-telegram-bot-token). Null: set the secret out of band."
  type        = string
  default     = null
  sensitive   = true
}

variable "telegram_chat_id" {
  description = "Telegram chat id(s), comma-separated, stored in the Key Vault (itb-telegram-chat-id). Null: set the secret out of band."
  type        = string
  default     = null
  sensitive   = true
}

variable "serve_read_token" {
  description = "A bearer token (16 characters or more) that may read the service's HTTP API and dashboard, stored in the Key Vault (itb-serve-read-token). Null: set the secret out of band."
  type        = string
  default     = null
  sensitive   = true
}

variable "serve_control_token" {
  description = "A bearer token (16 characters or more) that may also steer the service (pause, resume, flatten, exit, promote), stored in the Key Vault (itb-serve-control-token). Null: set the secret out of band."
  type        = string
  default     = null
  sensitive   = true
}

variable "credentials" {
  description = "The credentials handed to itb (as ITB_API_KEY, ITB_API_SECRET, ITB_TELEGRAM_BOT_TOKEN, ITB_TELEGRAM_CHAT_ID, ITB_SERVE_READ_TOKEN, ITB_SERVE_CONTROL_TOKEN, AZURE_STORAGE_CONNECTION_STRING), each from its Key Vault secret, which must exist (given above or set out of band; the storage connection string is written by this module). The service listens on all addresses in its container, which itb refuses without an API token: keep serve_read_token or serve_control_token."
  type        = set(string)
  default     = ["api_key", "api_secret", "telegram_bot_token", "telegram_chat_id", "serve_read_token", "serve_control_token", "azure_storage_connection_string"]
  validation {
    condition     = length(setsubtract(var.credentials, ["api_key", "api_secret", "telegram_bot_token", "telegram_chat_id", "serve_read_token", "serve_control_token", "azure_storage_connection_string"])) == 0
    error_message = "credentials: each of api_key, api_secret, telegram_bot_token, telegram_chat_id, serve_read_token, serve_control_token, azure_storage_connection_string."
  }
  validation {
    condition     = contains(var.credentials, "serve_read_token") || contains(var.credentials, "serve_control_token")
    error_message = "credentials: the service needs serve_read_token or serve_control_token (it listens on all addresses in its container)."
  }
}
