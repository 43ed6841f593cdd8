# itb on Azure Container Apps: the service (`itb serve`) as a container app and the pipeline
# (`itb pipeline`) as a scheduled job, both on one file share holding the data folder, their
# image in a private registry, their credentials in a Key Vault read through a managed identity,
# their logs in Log Analytics. docs/deploy.md.

locals {
  # where the share is mounted: the image's working directory and data volume (Dockerfile)
  data_path   = "/var/lib/itb"
  config_path = "/var/lib/itb/itb.jsonc"
  image       = "${azurerm_container_registry.main.login_server}/itb:${var.image_tag}"
  # itb's credentials: Key Vault secret name and the environment variable itb reads
  credentials = {
    api_key            = { secret_name = "itb-api-key", env = "ITB_API_KEY" }
    api_secret         = { secret_name = "itb-api-secret", env = "ITB_API_SECRET" }
    telegram_bot_token = { secret_name = "itb-telegram-bot-token", env = "ITB_TELEGRAM_BOT_TOKEN" }
    telegram_chat_id   = { secret_name = "itb-telegram-chat-id", env = "ITB_TELEGRAM_CHAT_ID" }
    # the HTTP API's bearer tokens: the service listens on 0.0.0.0 in its container, which
    # itb refuses without a token
    serve_read_token    = { secret_name = "itb-serve-read-token", env = "ITB_SERVE_READ_TOKEN" }
    serve_control_token = { secret_name = "itb-serve-control-token", env = "ITB_SERVE_CONTROL_TOKEN" }
    # the storage account's connection string, for a data_folder "az://itb-data/..." (written
    # to the vault by this module, below)
    azure_storage_connection_string = { secret_name = "itb-storage-connection-string", env = "AZURE_STORAGE_CONNECTION_STRING" }
  }
  used_credentials = { for k, v in local.credentials : k => v if contains(var.credentials, k) }
  # the secret values given to Terraform (sensitive variables); the others are set out of band
  given_secrets = {
    api_key            = var.exchange_api_key
    api_secret         = var.exchange_api_secret
    telegram_bot_token = var.telegram_bot_token
    telegram_chat_id   = var.telegram_chat_id
    serve_read_token    = var.serve_read_token
    serve_control_token = var.serve_control_token
  }
}

resource "azurerm_resource_group" "main" {
  name     = "${var.name}-rg"
  location = var.location
  tags     = var.tags
}

resource "azurerm_log_analytics_workspace" "main" {
  name                = "${var.name}-logs"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  tags                = var.tags
}

# --- storage: the data folder on a file share, a blob container for a data folder in blobs,
# and one for exports and backups
resource "azurerm_storage_account" "main" {
  name                            = "${var.name}data${substr(md5(azurerm_resource_group.main.id), 0, 6)}"
  location                        = azurerm_resource_group.main.location
  resource_group_name             = azurerm_resource_group.main.name
  account_tier                    = "Standard"
  account_replication_type        = "LRS"
  min_tls_version                 = "TLS1_2"
  allow_nested_items_to_be_public = false
  tags                            = var.tags
}

resource "azurerm_storage_share" "data" {
  name               = "itb-data"
  storage_account_id = azurerm_storage_account.main.id
  quota              = var.data_share_quota_gb
}

# a data folder in blobs (data_folder "az://itb-data/<prefix>"): pipeline workers on any
# machine share it through their local caches, without the file share (docs/pipeline.md)
resource "azurerm_storage_container" "data" {
  name                  = "itb-data"
  storage_account_id    = azurerm_storage_account.main.id
  container_access_type = "private"
}

resource "azurerm_storage_container" "exports" {
  name                  = "itb-exports"
  storage_account_id    = azurerm_storage_account.main.id
  container_access_type = "private"
}

# the config, at the top of the data folder
resource "azurerm_storage_share_file" "config" {
  name              = "itb.jsonc"
  storage_share_url = azurerm_storage_share.data.url
  source            = var.config_file
  content_md5       = filemd5(var.config_file)
}

# --- the image registry, pulled by the managed identity (no admin user)
resource "azurerm_container_registry" "main" {
  name                = "${var.name}acr${substr(md5(azurerm_resource_group.main.id), 0, 6)}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  sku                 = "Basic"
  admin_enabled       = false
  tags                = var.tags
}

# --- the identity of the service and the job
resource "azurerm_user_assigned_identity" "itb" {
  name                = "${var.name}-identity"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  tags                = var.tags
}

resource "azurerm_role_assignment" "pull" {
  scope                = azurerm_container_registry.main.id
  role_definition_name = "AcrPull"
  principal_id         = azurerm_user_assigned_identity.itb.principal_id
}

# --- the Key Vault: itb's credentials (RBAC: the identity reads, the deployer writes)
resource "azurerm_key_vault" "main" {
  name                       = "${var.name}-kv-${substr(md5(azurerm_resource_group.main.id), 0, 6)}"
  location                   = azurerm_resource_group.main.location
  resource_group_name        = azurerm_resource_group.main.name
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = "standard"
  enable_rbac_authorization  = true
  purge_protection_enabled   = true
  soft_delete_retention_days = 30
  tags                       = var.tags
}

resource "azurerm_role_assignment" "secrets_read" {
  scope                = azurerm_key_vault.main.id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.itb.principal_id
}

resource "azurerm_role_assignment" "secrets_write" {
  scope                = azurerm_key_vault.main.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

# the secrets given as sensitive variables (the others are set with `az keyvault secret set`)
resource "azurerm_key_vault_secret" "given" {
  for_each     = nonsensitive(toset([for k, v in local.given_secrets : k if v != null]))
  name         = local.credentials[each.key].secret_name
  value        = local.given_secrets[each.key]
  key_vault_id = azurerm_key_vault.main.id
  depends_on   = [azurerm_role_assignment.secrets_write]
}

# the storage account's own connection string (a sensitive attribute), for az:// data folders
resource "azurerm_key_vault_secret" "storage" {
  name         = local.credentials.azure_storage_connection_string.secret_name
  value        = azurerm_storage_account.main.primary_blob_connection_string
  key_vault_id = azurerm_key_vault.main.id
  depends_on   = [azurerm_role_assignment.secrets_write]
}

# --- the Container Apps environment, logging to Log Analytics, with the share as storage
resource "azurerm_container_app_environment" "main" {
  name                       = "${var.name}-env"
  location                   = azurerm_resource_group.main.location
  resource_group_name        = azurerm_resource_group.main.name
  log_analytics_workspace_id = azurerm_log_analytics_workspace.main.id
  tags                       = var.tags
}

resource "azurerm_container_app_environment_storage" "data" {
  name                         = "itb-data"
  container_app_environment_id = azurerm_container_app_environment.main.id
  account_name                 = azurerm_storage_account.main.name
  access_key                   = azurerm_storage_account.main.primary_access_key
  share_name                   = azurerm_storage_share.data.name
  access_mode                  = "ReadWrite"
}
