// Parameters for `azd provision` / `azd up`. azd exports the environment's values (.azure/<env>/.env) before it
// compiles this file; `azd env set NAME value` changes one. Typed here, so a wrong value fails at compile time.
using 'main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME')
param location = readEnvironmentVariable('AZURE_LOCATION')
param resourceGroupName = readEnvironmentVariable('AZURE_RESOURCE_GROUP', '')
param principalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')
param principalType = readEnvironmentVariable('AZURE_PRINCIPAL_TYPE', 'User')

// Set by `azd deploy` once the runner image is in the registry.
param runnerImageName = readEnvironmentVariable('SERVICE_RUNNER_IMAGE_NAME', '')

param gpuWorkloadProfileType = readEnvironmentVariable('AGING_GPU_PROFILE', 'Consumption-GPU-NC8as-T4')
param runnerMaxReplicas = int(readEnvironmentVariable('AGING_RUNNER_MAX_REPLICAS', '3'))
param runnerQueueLength = int(readEnvironmentVariable('AGING_RUNNER_QUEUE_LENGTH', '8'))
param runnerActivationQueueLength = int(readEnvironmentVariable('AGING_RUNNER_ACTIVATION_QUEUE_LENGTH', '0'))
param runnerCooldownSeconds = int(readEnvironmentVariable('AGING_RUNNER_COOLDOWN_SECONDS', '300'))
param runnerMaxConcurrentJobs = int(readEnvironmentVariable('AGING_RUNNER_MAX_CONCURRENT_JOBS', '4'))
param modelSyncInterval = readEnvironmentVariable('AGING_MODEL_SYNC_INTERVAL', '00:01:00')
param defaultModel = readEnvironmentVariable('AGING_DEFAULT_MODEL', 'character-ager')
param functionMaximumInstanceCount = int(readEnvironmentVariable('AGING_FUNCTION_MAX_INSTANCES', '40'))
param functionInstanceMemoryMB = int(readEnvironmentVariable('AGING_FUNCTION_INSTANCE_MEMORY_MB', '2048'))
param functionOtlpEndpoint = readEnvironmentVariable('AGING_FUNCTION_OTLP_ENDPOINT', '')
param dataRetentionDays = int(readEnvironmentVariable('AGING_DATA_RETENTION_DAYS', '30'))

// Who can call the web form and API: signed-in users of the tenant unless AGING_ALLOW_ANONYMOUS=true. The preprovision
// hook (infra/scripts/auth-app.sh) creates the app registration and sets AGING_AUTH_CLIENT_ID.
param allowAnonymous = bool(readEnvironmentVariable('AGING_ALLOW_ANONYMOUS', 'false'))
param authClientId = readEnvironmentVariable('AGING_AUTH_CLIENT_ID', '')
param authTenantId = readEnvironmentVariable('AZURE_TENANT_ID', '')

// Off until the function code is deployed; the postdeploy hook (infra/scripts/postdeploy.sh) turns it on.
param enableUploadEvents = bool(readEnvironmentVariable('AGING_UPLOAD_EVENTS', 'false'))
