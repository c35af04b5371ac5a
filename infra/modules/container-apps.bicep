// The GPU side: a workload-profiles Container Apps environment with a serverless GPU profile, and the runner
// (gpu-runner/) scaled from zero by a KEDA azure-queue rule on aging-jobs that authenticates with the runner's
// managed identity. The environment's managed OpenTelemetry agent forwards the runner's OTLP traces and logs to
// Application Insights and injects OTEL_EXPORTER_OTLP_ENDPOINT into the container.

@description('Region of the environment and the app.')
param location string

@description('Tags applied to the environment and the app.')
param tags object

@description('Name of the Container Apps environment.')
param environmentName string

@description('Name of the runner container app.')
param runnerName string

@description('Serverless GPU workload profile type.')
@allowed([
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
param gpuWorkloadProfileType string

@description('Resource id of the Log Analytics workspace that receives the environment\'s logs.')
param logAnalyticsWorkspaceId string

@description('Name of the Application Insights component (managed OpenTelemetry destination).')
param applicationInsightsName string

@description('Resource id of the runner\'s user-assigned identity.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

@description('Login server of the registry that holds the runner image.')
param registryLoginServer string

@description('Runner image; empty deploys a public placeholder until azd pushes the real image (the app has no replica until a job arrives, so the placeholder never runs a job).')
param image string = ''

@description('Name of the storage account.')
param storageAccountName string

@description('vCPUs of one replica. NC8as-T4: 8; NC24-A100: 24.')
param cpu int

@description('Memory of one replica. NC8as-T4: 56Gi; NC24-A100: 220Gi.')
param memory string

@description('Most replicas (each one GPU).')
@minValue(1)
@maxValue(100)
param maxReplicas int

@description('Target of waiting jobs per replica (KEDA queueLength).')
@minValue(1)
param queueLength int

@description('Waiting jobs needed to wake the app from zero replicas (KEDA activationQueueLength; 0: the first job).')
@minValue(0)
param activationQueueLength int

@description('Seconds after the last active period before scaling back to zero.')
@minValue(0)
param cooldownPeriod int = 300

@description('Jobs one replica processes at once (Runner:MaxConcurrentJobs).')
@minValue(1)
@maxValue(32)
param maxConcurrentJobs int

@description('Model used when a job names none.')
param defaultModel string

@description('How often the runner compares its models with the models container.')
param modelSyncInterval string

var gpuProfileName = 'gpu'
var placeholderImage = 'mcr.microsoft.com/k8se/quickstart:latest'
var modelRoot = '/var/lib/aging/models'
var httpPort = 8080

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource containerAppsEnvironment 'Microsoft.App/managedEnvironments@2026-07-01' = {
  name: environmentName
  location: location
  tags: tags
  properties: {
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
      {
        // GPU profiles can only be added when the environment is created.
        name: gpuProfileName
        workloadProfileType: gpuWorkloadProfileType
      }
    ]
    // Console and system logs go through the diagnostic setting below: no workspace key in the template.
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    appInsightsConfiguration: {
      connectionString: applicationInsights.properties.ConnectionString
    }
    openTelemetryConfiguration: {
      tracesConfiguration: {
        destinations: [
          'appInsights'
        ]
      }
      logsConfiguration: {
        destinations: [
          'appInsights'
        ]
      }
    }
  }
}

resource environmentLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: containerAppsEnvironment
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

resource runner 'Microsoft.App/containerApps@2026-07-01' = {
  name: runnerName
  location: location
  tags: union(tags, {
    'azd-service-name': 'runner'
  })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: containerAppsEnvironment.id
    workloadProfileName: gpuProfileName
    configuration: {
      // No ingress: the runner pulls work from the queue; its /health and /alive are for the probes only.
      activeRevisionsMode: 'Single'
      registries: [
        {
          server: registryLoginServer
          identity: identityId
        }
      ]
    }
    template: {
      containers: [
        {
          // Only the first container of a replica gets the GPU.
          name: 'runner'
          image: empty(image) ? placeholderImage : image
          resources: {
            cpu: cpu
            memory: memory
          }
          env: [
            { name: 'AZURE_CLIENT_ID', value: identityClientId }
            { name: 'ASPNETCORE_HTTP_PORTS', value: string(httpPort) }
            { name: 'OTEL_SERVICE_NAME', value: 'aging-runner' }
            { name: 'Storage__BlobServiceUri', value: storage.properties.primaryEndpoints.blob }
            { name: 'Storage__QueueServiceUri', value: storage.properties.primaryEndpoints.queue }
            { name: 'Storage__ManagedIdentityClientId', value: identityClientId }
            // Bicep created every container and queue; the runner's roles do not allow creating them anyway.
            { name: 'Runner__EnsureStorageCreated', value: 'false' }
            { name: 'Runner__MaxConcurrentJobs', value: string(maxConcurrentJobs) }
            { name: 'Inference__UseCuda', value: 'true' }
            { name: 'Inference__ModelRoot', value: modelRoot }
            { name: 'Inference__DefaultModel', value: defaultModel }
            { name: 'ModelSync__Enabled', value: 'true' }
            { name: 'ModelSync__Interval', value: modelSyncInterval }
          ]
          probes: [
            {
              // Loading and warming up a model on a cold GPU takes a while: allow up to 5 minutes.
              type: 'Startup'
              httpGet: {
                path: '/alive'
                port: httpPort
              }
              periodSeconds: 5
              failureThreshold: 60
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/alive'
                port: httpPort
              }
              periodSeconds: 30
              failureThreshold: 3
            }
            {
              // Healthy once the default model is served (ModelReadyHealthCheck).
              type: 'Readiness'
              httpGet: {
                path: '/health'
                port: httpPort
              }
              periodSeconds: 10
              failureThreshold: 3
            }
          ]
        }
      ]
      scale: {
        minReplicas: 0
        maxReplicas: maxReplicas
        cooldownPeriod: cooldownPeriod
        pollingInterval: 15
        rules: [
          {
            name: 'aging-jobs-queue'
            custom: {
              type: 'azure-queue'
              identity: identityId
              metadata: {
                accountName: storageAccountName
                queueName: 'aging-jobs'
                queueLength: string(queueLength)
                activationQueueLength: string(activationQueueLength)
                // 'all' counts messages a runner holds invisible while it works, so a replica busy with a long
                // job is not scaled away under it.
                queueLengthStrategy: 'all'
              }
            }
          }
        ]
      }
    }
  }
}

output environmentName string = containerAppsEnvironment.name
output environmentId string = containerAppsEnvironment.id
output runnerName string = runner.name
output gpuProfileName string = gpuProfileName
