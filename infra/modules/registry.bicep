// Container registry for the runner image (azd builds and pushes it), readable by the runner's identity only.

@description('Region of the registry.')
param location string

@description('Tags applied to the registry.')
param tags object

@description('Registry name (5-50 letters and digits, globally unique).')
@minLength(5)
@maxLength(50)
param name string

@description('Object id of the identity that pulls images (the runner).')
param pullPrincipalId string

@description('Resource name of that identity; seeds the role assignment name.')
param pullPrincipalName string

var acrPullRoleId = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Basic'
  }
  properties: {
    // No admin user: pulls use the runner's managed identity, pushes the deployer's Entra login.
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

resource pull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, pullPrincipalName, acrPullRoleId)
  scope: registry
  properties: {
    principalId: pullPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPullRoleId)
  }
}

output id string = registry.id
output name string = registry.name
output loginServer string = registry.properties.loginServer
