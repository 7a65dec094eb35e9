-- DropForeignKey
ALTER TABLE "crm_contacts" DROP CONSTRAINT "crm_contacts_organizationId_fkey";

-- DropForeignKey
ALTER TABLE "crm_notes" DROP CONSTRAINT "crm_notes_contactId_fkey";

-- DropForeignKey
ALTER TABLE "crm_notes" DROP CONSTRAINT "crm_notes_authorId_fkey";

-- DropTable
DROP TABLE "crm_contacts";

-- DropTable
DROP TABLE "crm_notes";
