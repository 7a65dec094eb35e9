// Synthetic projects for benchmarks: a core with a few models and N extensions of 4 models each;
// every third extension also adds a column and a relation to the core User model.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const CORE = `datasource db {
  provider = "postgresql"
}

model Organization {
  id    Int    @id @default(autoincrement())
  name  String
  users User[]
}

model User {
  id             Int          @id @default(autoincrement())
  email          String       @unique
  organizationId Int
  organization   Organization @relation(fields: [organizationId], references: [id])
}

model AuditLog {
  id      Int      @id @default(autoincrement())
  message String
  at      DateTime @default(now())
}
`;

export function extensionName(i) {
  return `ext${String(i).padStart(3, '0')}`;
}

export function fragment(name, i) {
  const models = [0, 1, 2, 3].map((m) => {
    const model = `${name[0].toUpperCase()}${name.slice(1)}M${m}`;
    const fk = m > 0 ? `\n  parentId Int?\n  parent   ${name[0].toUpperCase()}${name.slice(1)}M0? @relation("${model}Parent", fields: [parentId], references: [id])` : '';
    return `model ${model} {
  id        Int      @id @default(autoincrement())
  title     String
  amount    Int      @default(0)
  createdAt DateTime @default(now())${fk}

  @@map("${name}_m${m}")
}`;
  });
  // Back-relations for the parent links on the first model.
  const head = models[0].replace('  createdAt DateTime @default(now())', `  createdAt DateTime @default(now())\n${[1, 2, 3].map((m) => `  children${m} ${name[0].toUpperCase()}${name.slice(1)}M${m}[] @relation("${name[0].toUpperCase()}${name.slice(1)}M${m}Parent")`).join('\n')}`);
  models[0] = head;
  let text = models.join('\n\n') + '\n';
  if (i % 3 === 0) {
    const M0 = `${name[0].toUpperCase()}${name.slice(1)}M0`;
    text = text.replace(`  @@map("${name}_m0")`, `  ownerId Int?\n  owner   User? @relation(fields: [ownerId], references: [id])\n\n  @@map("${name}_m0")`);
    text += `\nextend model User {\n  ${name}Score Int? @map("${name}_score")\n  ${name}Items ${M0}[]\n}\n`;
  }
  return text;
}

/** Writes a project with `count` extensions under `dir`; returns the APP_EXTENSIONS value. */
export function writeSynthetic(dir, count) {
  mkdirSync(path.join(dir, 'prisma'), { recursive: true });
  writeFileSync(path.join(dir, 'prisma/schema.prisma'), CORE);
  const names = [];
  for (let i = 0; i < count; i++) {
    const name = extensionName(i);
    names.push(name);
    mkdirSync(path.join(dir, 'extensions', name), { recursive: true });
    writeFileSync(path.join(dir, 'extensions', name, 'schema.prisma'), fragment(name, i));
  }
  return names.join(',');
}
