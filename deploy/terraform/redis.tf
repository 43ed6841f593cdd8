# Optional (var.redis_enabled): an Azure Cache for Redis for the distributed pipeline's queue.
# Coming: no itb command uses a queue yet; the cache is created for it and nothing reads it.
resource "azurerm_redis_cache" "queue" {
  count                         = var.redis_enabled ? 1 : 0
  name                          = "${var.name}-redis-${substr(md5(azurerm_resource_group.main.id), 0, 6)}"
  location                      = azurerm_resource_group.main.location
  resource_group_name           = azurerm_resource_group.main.name
  capacity                      = 0
  family                        = "C"
  sku_name                      = "Basic"
  minimum_tls_version           = "1.2"
  non_ssl_port_enabled          = false
  public_network_access_enabled = false
  tags                          = var.tags
}
