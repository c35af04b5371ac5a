// Data-plane role assignments for one principal on the storage account, scoped as narrowly as each role allows:
// the whole account, single containers or single queues.

@description('Name of the existing storage account.')
param storageAccountName string

@description('Object id of the principal (a managed identity or the deploying user).')
param principalId string

@description('A name known before deployment that identifies the principal (the identity\'s resource name, or the object id of a user); seeds the role assignment names so that What-If can predict them.')
param principalName string

@description('Kind of principal.')
@allowed([
  'ServicePrincipal'
  'User'
  'Group'
])
param principalType string = 'ServicePrincipal'

@description('Role definition ids granted on the whole account.')
param accountRoles string[] = []

@description('Role definition ids granted on single containers: [{ container, roleId }].')
param containerRoles { container: string, roleId: string }[] = []

@description('Role definition ids granted on single queues: [{ queue, roleId }].')
param queueRoles { queue: string, roleId: string }[] = []

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' existing = {
  parent: storage
  name: 'default'
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-01-01' existing = {
  parent: storage
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' existing = [
  for grant in containerRoles: {
    parent: blobService
    name: grant.container
  }
]

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' existing = [
  for grant in queueRoles: {
    parent: queueService
    name: grant.queue
  }
]

resource accountAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in accountRoles: {
    name: guid(storage.id, principalName, roleId)
    scope: storage
    properties: {
      principalId: principalId
      principalType: principalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    }
  }
]

resource containerAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (grant, i) in containerRoles: {
    name: guid(containers[i].id, principalName, grant.roleId)
    scope: containers[i]
    properties: {
      principalId: principalId
      principalType: principalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', grant.roleId)
    }
  }
]

resource queueAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (grant, i) in queueRoles: {
    name: guid(queues[i].id, principalName, grant.roleId)
    scope: queues[i]
    properties: {
      principalId: principalId
      principalType: principalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', grant.roleId)
    }
  }
]
