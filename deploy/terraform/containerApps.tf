# The service and the pipeline on the Container Apps environment (main.tf).

# `itb serve`: one replica (a market's ledger has one writer), /healthz as liveness and /readyz
# as readiness, /metrics on the environment's internal ingress for a Prometheus there
resource "azurerm_container_app" "serve" {
  name                         = "${var.name}-serve"
  container_app_environment_id = azurerm_container_app_environment.main.id
  resource_group_name          = azurerm_resource_group.main.name
  revision_mode                = "Single"
  tags                         = var.tags

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.itb.id]
  }

  registry {
    server   = azurerm_container_registry.main.login_server
    identity = azurerm_user_assigned_identity.itb.id
  }

  dynamic "secret" {
    for_each = local.used_credentials
    content {
      name                = secret.value.secret_name
      key_vault_secret_id = "${azurerm_key_vault.main.vault_uri}secrets/${secret.value.secret_name}"
      identity            = azurerm_user_assigned_identity.itb.id
    }
  }

  ingress {
    external_enabled = false
    target_port      = 9464
    transport        = "http"
    traffic_weight {
      latest_revision = true
      percentage      = 100
    }
  }

  template {
    min_replicas = 1
    max_replicas = 1

    container {
      name   = "itb"
      image  = local.image
      cpu    = var.serve_cpu
      memory = var.serve_memory
      args   = ["serve", "--config", local.config_path, "--address", "0.0.0.0:9464"]

      dynamic "env" {
        for_each = local.used_credentials
        content {
          name        = env.value.env
          secret_name = env.value.secret_name
        }
      }

      volume_mounts {
        name = "data"
        path = local.data_path
      }

      liveness_probe {
        transport        = "HTTP"
        port             = 9464
        path             = "/healthz"
        initial_delay    = 30
        interval_seconds = 30
      }

      readiness_probe {
        transport        = "HTTP"
        port             = 9464
        path             = "/readyz"
        interval_seconds = 60
      }
    }

    volume {
      name         = "data"
      storage_type = "AzureFile"
      storage_name = azurerm_container_app_environment_storage.data.name
    }
  }

  depends_on = [azurerm_role_assignment.pull, azurerm_role_assignment.secrets_read, azurerm_storage_share_file.config]
}

# `itb pipeline` on a schedule: downloads, trains and promotes new models, which the running
# service picks up at its next candle (--wait: it waits for the service's short write locks)
resource "azurerm_container_app_job" "pipeline" {
  name                         = "${var.name}-pipeline"
  location                     = azurerm_resource_group.main.location
  resource_group_name          = azurerm_resource_group.main.name
  container_app_environment_id = azurerm_container_app_environment.main.id
  replica_timeout_in_seconds   = var.pipeline_timeout_seconds
  replica_retry_limit          = 1
  tags                         = var.tags

  schedule_trigger_config {
    cron_expression          = var.pipeline_cron
    parallelism              = 1
    replica_completion_count = 1
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.itb.id]
  }

  registry {
    server   = azurerm_container_registry.main.login_server
    identity = azurerm_user_assigned_identity.itb.id
  }

  dynamic "secret" {
    for_each = local.used_credentials
    content {
      name                = secret.value.secret_name
      key_vault_secret_id = "${azurerm_key_vault.main.vault_uri}secrets/${secret.value.secret_name}"
      identity            = azurerm_user_assigned_identity.itb.id
    }
  }

  template {
    container {
      name   = "pipeline"
      image  = local.image
      cpu    = var.pipeline_cpu
      memory = var.pipeline_memory
      args   = ["pipeline", "--config", local.config_path, "--wait", "--progress", "log"]

      dynamic "env" {
        for_each = local.used_credentials
        content {
          name        = env.value.env
          secret_name = env.value.secret_name
        }
      }

      volume_mounts {
        name = "data"
        path = local.data_path
      }
    }

    volume {
      name         = "data"
      storage_type = "AzureFile"
      storage_name = azurerm_container_app_environment_storage.data.name
    }
  }

  depends_on = [azurerm_role_assignment.pull, azurerm_role_assignment.secrets_read, azurerm_storage_share_file.config]
}
