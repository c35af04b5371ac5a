// Monitoring Metrics Publisher on Application Insights, so the Functions host can send telemetry with Entra ID
// authentication (APPLICATIONINSIGHTS_AUTHENTICATION_STRING) rather than with the connection string's key alone.

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('Object id of the identity that publishes telemetry.')
param principalId string

@description('Resource name of that identity; seeds the role assignment name.')
param principalName string

@description('Role definition id (Monitoring Metrics Publisher).')
param roleId string

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource publisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, principalName, roleId)
  scope: applicationInsights
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
  }
}
