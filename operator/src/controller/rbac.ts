// Every API call the operator makes, as the rules of its ClusterRole. The chart renders its
// ClusterRole from this list, and the integration tests bind exactly these rules to the identity the
// operator runs as, so a call missing here fails in the tests, not in a cluster.
//
//   codingtasks          get list watch          informer
//   codingtasks          patch                   the Slack thread annotation (metadata merge patch); Slack's
//                                                controls: spec.suspend, spec.stop, spec.guidance
//   codingtasks          create                  Slack's /autorun new and Retry (a new task)
//   codingtasks/status   update patch            status writes (PUT with resourceVersion)
//   agentpools           get list watch          informer
//   agentpools/status    update patch            pool counters (merge patch)
//   pods                 get list watch create delete    stage Pods (informer on autorun.dev/task); also those an
//                                                earlier task of the same name left in the way
//   pods/log             get                     the run Pod's failure report (bounded)
//   configmaps           get create delete       the report ConfigMap the repair Pod mounts (409 = exists; one left
//                                                by an earlier task of the same name is deleted)
//   events               create patch            core/v1 Events on the task
//   leases               get create update       leader election (coordination.k8s.io/v1)
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export const OPERATOR_RULES: readonly PolicyRule[] = [
  { apiGroups: ['autorun.dev'], resources: ['codingtasks', 'agentpools'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['autorun.dev'], resources: ['codingtasks'], verbs: ['patch', 'create'] },
  { apiGroups: ['autorun.dev'], resources: ['codingtasks/status', 'agentpools/status'], verbs: ['update', 'patch'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'delete'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];
