import { TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from 'graphql';

/**
 * The subscription document as each event of it is executed: the same selections, aliases,
 * fragments and directives, without the root field's arguments and the variables nothing else
 * uses. The arguments (the filter) are read once, when the subscription opens; executing them
 * with every event would only coerce the same variables again, which costs more than the rest of
 * an event's execution.
 */
export function perEventDocument(schema: GraphQLSchema, document: DocumentNode): DocumentNode {
  const subscriptionType = schema.getSubscriptionType();
  const typeInfo = new TypeInfo(schema);
  const withoutRootArguments = visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        if (typeInfo.getParentType() !== subscriptionType || !node.arguments?.length) return undefined;
        return { ...node, arguments: [] };
      },
    }),
  );
  const used = new Set<string>();
  visit(withoutRootArguments, {
    VariableDefinition: () => false,
    Variable(node) {
      used.add(node.name.value);
    },
  });
  return visit(withoutRootArguments, {
    VariableDefinition: (node) => (used.has(node.variable.name.value) ? undefined : null),
  });
}
