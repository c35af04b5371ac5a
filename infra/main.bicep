// AgingPipeline on Azure, for `azd up` (see azure.yaml and docs/deploy.md).
//
//   uploads ──BlobCreated──► Event Grid ──webhook──► function app (Flex Consumption, custom handler)
//                                                        │ JobMessage
//                                                        ▼
//                                                  aging-jobs queue ──KEDA azure-queue──► runner (Container Apps GPU)
//                                                                                            │
//                                                                           aged/, jobs/ ◄───┘   models/ ──sync──► runner
//
// Every app authenticates to storage with a user-assigned managed identity; the storage account refuses shared keys.

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; part of every resource name and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Region of every resource. It must offer Flex Consumption and Container Apps serverless GPUs of the chosen type (for example swedencentral, westus3 or australiaeast).')
param location string

@description('Resource group name; empty: rg-{environmentName}.')
param resourceGroupName string = ''

@description('Object id of the person running azd (azd sets AZURE_PRINCIPAL_ID). Gets Storage Blob Data Contributor on the models container, to publish models, and Storage Blob Data Reader on aged and jobs. Empty: no grant.')
param principalId string = ''

@description('Kind of principal in principalId.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@description('Serverless GPU workload profile of the runner.')
@allowed([
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
param gpuWorkloadProfileType string = 'Consumption-GPU-NC8as-T4'

@description('Runner image, set by azd after it pushes the image (SERVICE_RUNNER_IMAGE_NAME); empty on the first provision.')
param runnerImageName string = ''

@description('Most runner replicas, one GPU each.')
@minValue(1)
@maxValue(100)
param runnerMaxReplicas int = 3

@description('Waiting jobs per runner replica that KEDA aims for (azure-queue queueLength).')
@minValue(1)
param runnerQueueLength int = 8

@description('Waiting jobs that wake the runner from zero replicas (azure-queue activationQueueLength; 0: the first job).')
@minValue(0)
param runnerActivationQueueLength int = 0

@description('Seconds without work before the runner scales back to zero.')
@minValue(0)
param runnerCooldownSeconds int = 300

@description('Jobs one runner replica processes at once; their ages share GPU batches.')
@minValue(1)
@maxValue(32)
param runnerMaxConcurrentJobs int = 4

@description('How often runners compare their local models with the models container (a TimeSpan).')
param modelSyncInterval string = '00:01:00'

@description('Model used when an upload names none.')
param defaultModel string = 'character-ager'

@description('Most function app instances.')
@minValue(40)
@maxValue(1000)
param functionMaximumInstanceCount int = 40

@description('Memory of one function app instance in MB: 512, 2048 or 4096 (Flex Consumption sizes).')
@minValue(512)
@maxValue(4096)
param functionInstanceMemoryMB int = 2048

@description('OTLP endpoint for the function app\'s own telemetry (an OpenTelemetry collector); empty: none.')
param functionOtlpEndpoint string = ''

@description('Days after which uploads, outputs and job records are deleted; 0 keeps them.')
@minValue(0)
param dataRetentionDays int = 30

@description('Open the web form and API to anyone (true, then rate-limited per client), or only to signed-in users of the tenant (false, the default). See docs/deploy.md, "Who can call what".')
param allowAnonymous bool = false

@description('Application (client) id of the Entra ID app registration the web form signs in with and the API accepts tokens for. Required unless allowAnonymous; azd\'s preprovision hook (infra/scripts/auth-app.sh) creates one. Without it a signed-in-only app refuses to start rather than start open.')
param authClientId string = ''

@description('Directory (tenant) id that issues the tokens; empty: the deployment\'s own tenant.')
param authTenantId string = ''

@description('Create the Event Grid subscription uploads → OnImageUploaded. Needs the function code deployed first; azd\'s postdeploy hook turns it on (AGING_UPLOAD_EVENTS) and provisions again.')
param enableUploadEvents bool = false

var tags = {
  'azd-env-name': environmentName
  application: 'aging-pipeline'
}
var token = toLower(uniqueString(subscription().id, environmentName, location))
var functionAppName = 'func-aging-${token}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(token, 7)}'
var deadLetterContainerName = 'events-deadletter'
// Names are derived here, not read from module outputs, so that What-If can resolve every resource they identify.
var names = {
  storage: 'staging${token}'
  logAnalytics: 'log-aging-${token}'
  applicationInsights: 'appi-aging-${token}'
  functionIdentity: 'id-func-aging-${token}'
  runnerIdentity: 'id-runner-aging-${token}'
  registry: 'craging${token}'
  functionPlan: 'plan-aging-${token}'
  containerAppsEnvironment: 'cae-aging-${token}'
  runner: 'ca-runner-${take(token, 12)}'
  systemTopic: 'evgt-aging-${token}'
}

// Role definition ids (built-in roles).
var roles = {
  blobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  blobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  blobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  queueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module monitoring 'modules/monitoring.bicep' = {
  scope: rg
  params: {
    location: location
    tags: tags
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.applicationInsights
  }
}

module storage 'modules/storage.bicep' = {
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.storage
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    dataRetentionDays: dataRetentionDays
  }
}

module functionIdentity 'modules/identity.bicep' = {
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.functionIdentity
  }
}

module runnerIdentity 'modules/identity.bicep' = {
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.runnerIdentity
  }
}

// The function app: host storage (the Functions docs require Blob Data Owner for identity-based host storage, and
// Queue Data Contributor for its internal and poison queues), upload writes,
// job records, user-delegation keys for the read links, sending to aging-jobs and the OnPoisonJob trigger.
module functionStorageRoles 'modules/storage-roles.bicep' = {
  scope: rg
  params: {
    storageAccountName: names.storage
    principalId: functionIdentity.outputs.principalId
    principalName: names.functionIdentity
    accountRoles: [
      roles.blobDataOwner
      roles.queueDataContributor
    ]
  }
  dependsOn: [
    storage
  ]
}

// The runner: reads uploads and models, writes aged outputs and job records, receives/renews/deletes aging-jobs
// messages (the KEDA scaler reads the queue length with the same identity), sends to the poison queue. Nothing
// account-wide.
module runnerStorageRoles 'modules/storage-roles.bicep' = {
  scope: rg
  params: {
    storageAccountName: names.storage
    principalId: runnerIdentity.outputs.principalId
    principalName: names.runnerIdentity
    containerRoles: [
      { container: 'uploads', roleId: roles.blobDataReader }
      { container: 'models', roleId: roles.blobDataReader }
      { container: 'aged', roleId: roles.blobDataContributor }
      { container: 'jobs', roleId: roles.blobDataContributor }
    ]
    queueRoles: [
      { queue: 'aging-jobs', roleId: roles.queueDataContributor }
      { queue: 'aging-jobs-poison', roleId: roles.queueDataMessageSender }
    ]
  }
  dependsOn: [
    storage
  ]
}

// The deploying person: publishes models (az storage blob upload-batch --auth-mode login) and can read results.
module deployerStorageRoles 'modules/storage-roles.bicep' = if (!empty(principalId)) {
  scope: rg
  params: {
    storageAccountName: names.storage
    principalId: principalId
    principalName: principalId
    principalType: principalType
    containerRoles: [
      { container: 'models', roleId: roles.blobDataContributor }
      { container: 'aged', roleId: roles.blobDataReader }
      { container: 'jobs', roleId: roles.blobDataReader }
    ]
  }
  dependsOn: [
    storage
  ]
}

module functionMonitoringRole 'modules/monitoring-role.bicep' = {
  scope: rg
  params: {
    applicationInsightsName: names.applicationInsights
    principalId: functionIdentity.outputs.principalId
    principalName: names.functionIdentity
    roleId: roles.monitoringMetricsPublisher
  }
  dependsOn: [
    monitoring
  ]
}

module registry 'modules/registry.bicep' = {
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.registry
    pullPrincipalId: runnerIdentity.outputs.principalId
    pullPrincipalName: names.runnerIdentity
  }
}

module functionApp 'modules/function-app.bicep' = {
  scope: rg
  params: {
    location: location
    tags: tags
    planName: names.functionPlan
    name: functionAppName
    identityId: functionIdentity.outputs.id
    identityClientId: functionIdentity.outputs.clientId
    storageAccountName: names.storage
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: names.applicationInsights
    maximumInstanceCount: functionMaximumInstanceCount
    instanceMemoryMB: functionInstanceMemoryMB
    otlpEndpoint: functionOtlpEndpoint
    defaultModel: defaultModel
    allowAnonymous: allowAnonymous
    authClientId: authClientId
    authTenantId: empty(authTenantId) ? tenant().tenantId : authTenantId
  }
  dependsOn: [
    storage
    monitoring
    functionStorageRoles
    functionMonitoringRole
  ]
}

var gpuSizes = {
  'Consumption-GPU-NC8as-T4': {
    cpu: 8
    memory: '56Gi'
  }
  'Consumption-GPU-NC24-A100': {
    cpu: 24
    memory: '220Gi'
  }
}

module containerApps 'modules/container-apps.bicep' = {
  scope: rg
  params: {
    location: location
    tags: tags
    environmentName: names.containerAppsEnvironment
    runnerName: names.runner
    gpuWorkloadProfileType: gpuWorkloadProfileType
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    applicationInsightsName: names.applicationInsights
    identityId: runnerIdentity.outputs.id
    identityClientId: runnerIdentity.outputs.clientId
    registryLoginServer: registry.outputs.loginServer
    image: runnerImageName
    storageAccountName: names.storage
    cpu: gpuSizes[gpuWorkloadProfileType].cpu
    memory: gpuSizes[gpuWorkloadProfileType].memory
    maxReplicas: runnerMaxReplicas
    queueLength: runnerQueueLength
    activationQueueLength: runnerActivationQueueLength
    cooldownPeriod: runnerCooldownSeconds
    maxConcurrentJobs: runnerMaxConcurrentJobs
    defaultModel: defaultModel
    modelSyncInterval: modelSyncInterval
  }
  dependsOn: [
    storage
    runnerStorageRoles
  ]
}

module eventGrid 'modules/event-grid.bicep' = {
  scope: rg
  params: {
    location: location
    tags: tags
    systemTopicName: names.systemTopic
    storageAccountName: names.storage
    deadLetterContainerName: deadLetterContainerName
    functionAppName: functionAppName
    createSubscription: enableUploadEvents
  }
  dependsOn: [
    storage
    functionApp
  ]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output AZURE_CONTAINER_REGISTRY_NAME string = registry.outputs.name
output AZURE_CONTAINER_APPS_ENVIRONMENT_NAME string = containerApps.outputs.environmentName
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_RUNNER_APP_NAME string = containerApps.outputs.runnerName
output AZURE_EVENTGRID_SYSTEM_TOPIC_NAME string = eventGrid.outputs.systemTopicName
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AGING_UPLOAD_EVENTS bool = eventGrid.outputs.subscriptionCreated
output WEB_FORM_URL string = 'https://${functionApp.outputs.defaultHostName}/'
output AGING_AUTH_MODE string = allowAnonymous ? 'Anonymous' : 'EntraId'
output API_BASE_URL string = 'https://${functionApp.outputs.defaultHostName}/api/'
