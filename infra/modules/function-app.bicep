// The function app: the ASP.NET Core custom handler (functions/AgingPipeline.Functions) on a Flex Consumption plan.
// The Functions host runs host.json and the function.json folders from the deployment package and forwards HTTP
// requests and trigger invocations to the handler on FUNCTIONS_CUSTOMHANDLER_PORT.

@description('Region of the plan and the app.')
param location string

@description('Tags applied to the plan and the app.')
param tags object

@description('Name of the Flex Consumption plan.')
param planName string

@description('Name of the function app.')
param name string

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

@description('Name of the storage account (host storage, data and deployment package).')
param storageAccountName string

@description('Blob container that holds the deployment package.')
param deploymentContainerName string

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('Most instances the app scales out to (Flex Consumption allows 40 to 1000).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of one function app instance in MB: 512, 2048 or 4096 (Flex Consumption sizes).')
@minValue(512)
@maxValue(4096)
param instanceMemoryMB int = 2048

@description('OTLP endpoint for the handler\'s own traces, metrics and logs (an OpenTelemetry collector); empty exports nothing over OTLP. The Functions host reports to Application Insights either way.')
param otlpEndpoint string = ''

@description('Model used when an upload names none.')
param defaultModel string

@description('Open the API to anyone (rate-limited per client) instead of to signed-in users only.')
param allowAnonymous bool = false

@description('Application (client) id of the Entra ID app registration: the tokens\' audience and the web form\'s client.')
param authClientId string = ''

@description('Directory (tenant) id that issues the tokens.')
param authTenantId string

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

var baseSettings = {
  // Identity-based host storage: no account key anywhere. The same account holds the pipeline's data, so the
  // trigger bindings (no "connection" in function.json) and the handler (AgingPipeline.Storage falls back to
  // AzureWebJobsStorage) use one set of settings.
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  // DefaultAzureCredential in the handler picks the user-assigned identity.
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  OTEL_SERVICE_NAME: 'aging-functions'
  Uploads__DefaultModel: defaultModel
  // Who may call (docs/deploy.md, "Who can call what"). The handler validates Entra ID tokens itself: Flex Consumption
  // does not enforce App Service Authentication. Signed-in only unless the deployment asks for an anonymous form.
  Auth__Mode: allowAnonymous ? 'Anonymous' : 'EntraId'
  Auth__TenantId: authTenantId
  Auth__ClientId: authClientId
  RateLimit__Enabled: 'true'
}

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'functions'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      // Flex Consumption sets the worker runtime here, not through the FUNCTIONS_WORKER_RUNTIME app setting
      // (which Flex rejects): 'custom' is FUNCTIONS_WORKER_RUNTIME=custom, the custom handler of host.json.
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    }
  }
}

resource appSettings 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: site
  name: 'appsettings'
  properties: empty(otlpEndpoint) ? baseSettings : union(baseSettings, {
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint
  })
}

output id string = site.id
output name string = site.name
output defaultHostName string = site.properties.defaultHostName
