// Every API call the operator makes, as the rules of its ClusterRole. The chart renders its
// ClusterRole from this list, and the integration tests bind exactly these rules to the identity the
// operator runs as, so a call missing here fails in the tests, not in a cluster; and the apiserver's
// audit log shows every rule used and nothing granted that is never called (controller/rbac.test.ts).
//
//   codingtasks          list watch              informer
//   codingtasks          get patch               the Slack thread annotation (metadata merge patch); Slack's
//                                                controls: spec.suspend, spec.stop, spec.guidance and grants (a
//                                                read-modify-write with the resourceVersion for the list fields)
//   codingtasks          create                  Slack's /autorun new and Retry (a new task)
//   codingtasks/status   update                  status writes (PUT with resourceVersion)
//   agentpools           list watch              informer
//   agentpools/status    patch                   pool counters (merge patch)
//   pods                 list watch create delete  stage Pods (informer on autorun.dev/task); deleted when a task
//                                                ends with stages live, or an earlier task's Pod is in the way
//   pods/log             get                     the run Pod's failure report (bounded)
//   configmaps           get create delete       the report ConfigMap the repair Pod mounts (409 = exists; one left
//                                                by an earlier task of the same name is deleted)
//   events               create                  core/v1 Events on the task (named by content: never updated)
//   networkpolicies      list watch create update  the stage Pods' policies (netpol/build.ts): informer,
//                                                created before a namespace's first stage Pod, restored when changed
//   leases               get create update       leader election (coordination.k8s.io/v1)
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export const OPERATOR_RULES: readonly PolicyRule[] = [
  { apiGroups: ['autorun.dev'], resources: ['codingtasks', 'agentpools'], verbs: ['list', 'watch'] },
  { apiGroups: ['autorun.dev'], resources: ['codingtasks'], verbs: ['get', 'patch', 'create'] },
  { apiGroups: ['autorun.dev'], resources: ['codingtasks/status'], verbs: ['update'] },
  { apiGroups: ['autorun.dev'], resources: ['agentpools/status'], verbs: ['patch'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch', 'create', 'delete'] },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'delete'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['list', 'watch', 'create', 'update'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];
