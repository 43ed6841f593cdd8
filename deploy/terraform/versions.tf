# itb on Azure: see docs/deploy.md. `terraform init && terraform apply -var-file=itb.tfvars`.
terraform {
  required_version = ">= 1.6"
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.20, < 5.0"
    }
  }
}

provider "azurerm" {
  features {
    key_vault {
      # keep soft-deleted secrets recoverable; a destroy does not purge them
      purge_soft_delete_on_destroy = false
    }
  }
  subscription_id = var.subscription_id
}

# who runs Terraform: given the right to write the Key Vault's secrets
data "azurerm_client_config" "current" {}
