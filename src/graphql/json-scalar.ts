import { GraphQLScalarType, Kind, type ValueNode } from 'graphql'

/** Any JSON value, for `json` fields: sent and received as is. */
export const GraphQLJSON = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value (object, array, string, number, boolean or null).',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (node, variables) => literalValue(node, variables ?? undefined),
})

function literalValue(node: ValueNode, variables: Record<string, unknown> | undefined): unknown {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return node.value
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value)
    case Kind.NULL:
      return null
    case Kind.ENUM:
      return node.value
    case Kind.LIST:
      return node.values.map((value) => literalValue(value, variables))
    case Kind.OBJECT: {
      // A plain object with no prototype keys: `__proto__` stays an ordinary key.
      const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>
      for (const field of node.fields) out[field.name.value] = literalValue(field.value, variables)
      return { ...out }
    }
    case Kind.VARIABLE:
      return variables?.[node.name.value]
  }
}
