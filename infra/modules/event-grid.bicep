// Storage events → OnImageUploaded. A system topic on the storage account and one subscription that delivers
// Microsoft.Storage.BlobCreated for the uploads container only to the Functions Event Grid extension webhook, which
// runs the eventGridTrigger of functions/OnImageUploaded/function.json with the event itself (a few hundred bytes):
// the host never downloads the blob; the handler reads its first 64 KiB.
//
// No re-trigger loop: the subscription filters on the uploads container (subjectBeginsWith), and the pipeline
// never writes into uploads (outputs go to aged, records to jobs), so its own writes raise no delivered events.

@description('Region of the system topic (the storage account\'s region).')
param location string

@description('Tags applied to the topic.')
param tags object

@description('Name of the system topic.')
param systemTopicName string

@description('Name of the storage account whose events are published.')
param storageAccountName string

@description('Container where undeliverable events are written.')
param deadLetterContainerName string

@description('Name of the function app that receives the events.')
param functionAppName string

@description('Name of the Event Grid-triggered function (folder name under functions/).')
param functionName string = 'OnImageUploaded'

@description('Create the subscription. It needs the function code deployed: the eventgrid_extension system key exists only once the host has loaded the Event Grid extension, and Event Grid validates the webhook when the subscription is created. azd sets this after the first deploy (infra/scripts/postdeploy.sh).')
param createSubscription bool

var uploadsContainer = 'uploads'
var blobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' existing = {
  name: '${storageAccountName}/default/${deadLetterContainerName}'
}

resource functionApp 'Microsoft.Web/sites@2025-03-01' existing = {
  name: functionAppName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: systemTopicName
  location: location
  tags: tags
  identity: {
    // Writes dead letters with its own identity: no storage key in the subscription.
    type: 'SystemAssigned'
  }
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, systemTopic.id, blobDataContributorRoleId)
  scope: deadLetterContainer
  properties: {
    principalId: systemTopic.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributorRoleId)
  }
}

// Destination: the host's Event Grid webhook, /runtime/webhooks/EventGrid?functionName=OnImageUploaded, authorised by
// the host's eventgrid_extension system key, read at deployment time from the host's key list (POST
// .../sites/{app}/host/default/listkeys). The key travels only inside the endpoint URL, which Event Grid stores
// write-only; it is never an output. The host answers Event Grid's validation handshake itself.
//
// Why a WebHook and not endpointType 'AzureFunction' (resourceId .../sites/{app}/functions/OnImageUploaded): that
// destination needs the function's ARM sub-resource, which for a custom handler on Flex Consumption appears only
// after the package is deployed and its function.json files indexed, so it removes no ordering constraint, and it
// has not been tried with a custom handler on Flex Consumption. The webhook is the delivery the Functions Event Grid
// trigger documents for every hosting plan (Flex Consumption included), keeps the key read and the post-deploy
// ordering this template already used for the blobs extension, and is the request the local event pump imitates;
// maxEventsPerBatch = 1 matches the handler's one-event invocation (cardinality one).
resource uploadsToFunction 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (createSubscription) {
  parent: systemTopic
  name: 'uploads-to-${toLower(functionName)}'
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/EventGrid?functionName=${functionName}&code=${listKeys('${functionApp.id}/host/default', '2025-03-01').systemKeys.eventgrid_extension}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${uploadsContainer}/'
      enableAdvancedFilteringOnArrays: true
    }
    retryPolicy: {
      // Event Grid backs off from 10 s up to its maximum; a day covers a long function outage.
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storage.id
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
  dependsOn: [
    deadLetterWriter
  ]
}

output systemTopicName string = systemTopic.name
output subscriptionCreated bool = createSubscription
