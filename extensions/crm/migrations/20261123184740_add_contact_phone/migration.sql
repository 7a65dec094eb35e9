-- orchestrate:requires core 20261123184710_init
-- AlterTable
ALTER TABLE "crm_contacts" ADD COLUMN     "phone" TEXT;
