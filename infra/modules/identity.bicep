// A user-assigned managed identity. User-assigned rather than system-assigned so that its role assignments exist
// before the app that uses it starts (no first-start failures while RBAC propagates), and so that the KEDA scale
// rule and the registry pull can name it.

@description('Region of the identity.')
param location string

@description('Tags applied to the identity.')
param tags object

@description('Name of the identity.')
param name string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
